package symbolize

import (
	"strings"

	"github.com/ianlancetaylor/demangle"
)

// demangleName turns a C++ (Itanium ABI) or Rust symbol into its readable
// form without parameter lists, as profiles show it:
// "_ZN2v88internal4Heap14CollectGarbageE..." becomes
// "v8::internal::Heap::CollectGarbage". Other names are returned unchanged.
// A versioned name ("memcpy@@GLIBC_2.14") keeps only the name; a PLT stub
// keeps its "@plt".
func demangleName(name string) string {
	if base, ok := strings.CutSuffix(name, "@plt"); ok && base != "" {
		return demangleName(base) + "@plt"
	}
	if i := strings.IndexByte(name, '@'); i > 0 {
		name = name[:i]
	}
	if !strings.HasPrefix(name, "_Z") && !strings.HasPrefix(name, "_R") {
		return name
	}
	return demangle.Filter(name, demangle.NoParams, demangle.NoClones)
}

// Demangle is demangleName for callers outside the package: a C++ or Rust
// mangled name becomes readable, anything else is returned as it is.
func Demangle(name string) string { return demangleName(name) }
