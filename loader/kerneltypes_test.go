package loader

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/tracer-dev/tracer/bpf"
	"github.com/tracer-dev/tracer/internal/privtest"
)

// tracerSpecs are the collections tracer loads.
func tracerSpecs(t *testing.T) map[string]*ebpf.CollectionSpec {
	t.Helper()
	specs := map[string]*ebpf.CollectionSpec{}
	for name, load := range map[string]func() (*ebpf.CollectionSpec, error){"capture": bpf.LoadCapture, "pyperf": bpf.LoadPyperf, "v8": bpf.LoadV8} {
		s, err := load()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		specs[name] = s
	}
	return specs
}

// The subset of kernel types gives every CO-RE relocation of tracer's
// programs the same fixup as the whole kernel BTF and its modules do.
func TestKernelTypesSameRelocations(t *testing.T) {
	cache := btf.NewCache()
	kernel, err := cache.Kernel()
	privtest.Require(t, "kernel BTF", err)
	full := []*btf.Spec{kernel}
	mods, err := cache.Modules()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, m := range mods {
		s, err := cache.Module(m)
		if err != nil {
			t.Fatal(err)
		}
		full = append(full, s)
	}
	for name, spec := range tracerSpecs(t) {
		t.Run(name, func(t *testing.T) {
			names, ok := relocationNames(spec)
			if !ok {
				t.Fatal("a relocation needs the kernel's type IDs")
			}
			b, err := kernelTypesSubset(cache, names)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "x.btf")
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			sub := readKernelTypes(path)
			if sub == nil {
				t.Fatal("the subset does not read back")
			}
			relocs := 0
			for pname, p := range spec.Programs {
				var relos []*btf.CORERelocation
				for i := range p.Instructions {
					if r := btf.CORERelocationMetadata(&p.Instructions[i]); r != nil {
						relos = append(relos, r)
					}
				}
				if len(relos) == 0 {
					continue
				}
				relocs += len(relos)
				local := func(typ btf.Type) (btf.TypeID, error) { return spec.Types.TypeID(typ) }
				want, err := btf.CORERelocate(relos, full, p.ByteOrder, local)
				if err != nil {
					t.Fatalf("%s against the kernel: %v", pname, err)
				}
				got, err := btf.CORERelocate(relos, []*btf.Spec{sub}, p.ByteOrder, local)
				if err != nil {
					t.Fatalf("%s against the subset: %v", pname, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: subset fixups %v, kernel %v", pname, got, want)
				}
			}
			if relocs == 0 && name != "v8" {
				t.Fatalf("no CO-RE relocation in %s", name)
			}
			t.Logf("%d relocations, subset %d KiB", relocs, len(b)>>10)
		})
	}
}

// A collection loads against the subset once it is written, and a subset
// file that is damaged or not the user's own is passed over and written
// again.
func TestKernelTypesCacheLoads(t *testing.T) {
	privtest.Require(t, "BPF", CheckPrivilege())
	dir := t.TempDir()
	old := kernelTypesDir
	kernelTypesDir = func() string { return dir }
	t.Cleanup(func() { kernelTypesDir = old })

	spec, err := bpf.LoadCapture()
	if err != nil {
		t.Fatal(err)
	}
	entry := kernelTypesEntry(spec)
	if entry == "" || filepath.Dir(entry) != dir {
		t.Fatalf("entry %q", entry)
	}
	load := func(what string) {
		t.Helper()
		var objs bpf.CaptureObjects
		if err := LoadCollection(spec, &objs); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		objs.Close()
	}
	load("first load")
	fi, err := os.Stat(entry)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("subset not written: %v %v", fi, err)
	}
	if readKernelTypes(entry) == nil {
		t.Fatal("the written subset does not read back")
	}
	load("load from the subset")

	good, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	for name, damage := range map[string]func(){
		"flipped byte": func() {
			b := append([]byte(nil), good...)
			b[len(b)/2] ^= 0xff
			os.WriteFile(entry, b, 0o600)
		},
		"truncated":      func() { os.WriteFile(entry, good[:len(good)/3], 0o600) },
		"empty":          func() { os.WriteFile(entry, nil, 0o600) },
		"world-writable": func() { os.WriteFile(entry, good, 0o600); os.Chmod(entry, 0o666) },
	} {
		damage()
		if readKernelTypes(entry) != nil {
			t.Fatalf("%s: read as intact", name)
		}
		load(name)
		f, err := os.Open(entry)
		if err != nil {
			t.Fatalf("%s: not written again: %v", name, err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if name != "world-writable" && string(b) != string(good) {
			t.Fatalf("%s: written again differently", name)
		}
	}
}
