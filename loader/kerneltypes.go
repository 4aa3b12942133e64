package loader

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/tracer-dev/tracer/internal/cachedir"
)

// The kernel types a collection's CO-RE relocations need, kept on disk.
// Relocating against the kernel's BTF means indexing all of it (126 000
// types, 5.5 MiB here: about 11 ms of CPU a session) to look up the few
// structures the programs read (task_struct, file, inode…). The first
// session of a boot writes, for each collection, the kernel types whose
// names are those of the collection's own types (every candidate a
// relocation could match), with everything they refer to, as BTF (about
// 0.4 MiB) in the user's cache directory (kernel-types/); later sessions
// relocate against that. The types are the kernel's own, whole, and every
// candidate of a name is kept: a relocation finds the same candidates and
// the same members, so the same offsets, as against the whole kernel BTF.
// Relocations that need the kernel's type IDs (bpf_core_type_id_kernel)
// cannot use a subset, so a collection with one always uses the whole.
//
// An entry is keyed by the boot, the kernel release, the kernel's BTF files
// (/sys/kernel/btf: vmlinux and the loaded modules', names and sizes) and
// the collection's type names; a file that is not the user's own, or whose
// digest does not match its contents, is passed over and rewritten, and a
// load that fails against the subset is retried against the whole BTF.

// kernelTypesDir is where the subsets are kept ("" keeps none).
var kernelTypesDir = func() string { return cachedir.Dir("kernel-types") }

// kernelTypesMagic opens a subset file, before the digest of its BTF.
var kernelTypesMagic = [8]byte{'t', 'r', 'k', 't', 'y', 'p', '0', '1'}

// maxKernelTypesFile bounds what is read of a subset file.
const maxKernelTypesFile = 64 << 20

// kernelTypesEntry is the file of spec's subset, "" when spec cannot use
// one (no cache directory, no boot ID, no kernel BTF, or a relocation that
// needs the kernel's type IDs).
func kernelTypesEntry(spec *ebpf.CollectionSpec) string {
	dir := kernelTypesDir()
	boot := cachedir.BootID()
	if dir == "" || boot == "" || spec.Types == nil {
		return ""
	}
	var uts syscall.Utsname
	if syscall.Uname(&uts) != nil {
		return ""
	}
	h := sha256.New()
	h.Write([]byte("kernel types 1\nboot " + boot + "\nrelease "))
	for _, c := range uts.Release {
		if c == 0 {
			break
		}
		h.Write([]byte{byte(c)})
	}
	h.Write([]byte("\n"))
	files, err := os.ReadDir("/sys/kernel/btf")
	if err != nil {
		return ""
	}
	for _, f := range files {
		fi, err := f.Info()
		if err != nil {
			return ""
		}
		h.Write([]byte(f.Name() + " " + strconv.FormatInt(fi.Size(), 10) + " " + strconv.FormatInt(fi.ModTime().UnixNano(), 10) + "\n"))
	}
	names, ok := relocationNames(spec)
	if !ok {
		return ""
	}
	for _, n := range names {
		h.Write([]byte(n + "\n"))
	}
	return filepath.Join(dir, hex.EncodeToString(h.Sum(nil)[:16])+".btf")
}

// relocationNames are the essential names (without a ___flavor) of spec's
// named types, sorted: the names of every type a CO-RE relocation of spec
// could be rooted at. ok is false when a relocation needs the kernel's
// type IDs.
func relocationNames(spec *ebpf.CollectionSpec) (names []string, ok bool) {
	for _, p := range spec.Programs {
		for i := range p.Instructions {
			if r := btf.CORERelocationMetadata(&p.Instructions[i]); r != nil && strings.Contains(r.String(), "target_type_id") {
				return nil, false
			}
		}
	}
	for t, err := range spec.Types.All() {
		if err != nil {
			return nil, false
		}
		if n := essentialName(t.TypeName()); n != "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), true
}

// essentialName is name without its CO-RE flavor ("task_struct___old").
func essentialName(name string) string {
	if i := strings.LastIndex(name, "___"); i > 0 {
		return name[:i]
	}
	return name
}

// readKernelTypes reads the subset at path; nil when it is missing, not the
// user's own, or not intact.
func readKernelTypes(path string) *btf.Spec {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var st syscall.Stat_t
	if syscall.Fstat(int(f.Fd()), &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Uid != uint32(os.Geteuid()) || st.Mode&0o022 != 0 {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKernelTypesFile))
	if err != nil || len(b) < 40 || [8]byte(b[:8]) != kernelTypesMagic || [32]byte(b[8:40]) != sha256.Sum256(b[40:]) {
		return nil
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(b[40:]))
	if err != nil {
		return nil
	}
	return spec
}

// kernelTypesSubset is the BTF of the kernel's types named as in names,
// from the kernel and its modules as the CO-RE relocation looks them up,
// with everything they refer to.
func kernelTypesSubset(cache *btf.Cache, names []string) ([]byte, error) {
	kernel, err := cache.Kernel()
	if err != nil {
		return nil, err
	}
	targets := []*btf.Spec{kernel}
	modules, err := cache.Modules()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, m := range modules {
		s, err := cache.Module(m)
		if err != nil {
			return nil, err
		}
		targets = append(targets, s)
	}
	var roots []btf.Type
	for _, n := range names {
		for _, t := range targets {
			ts, err := typesByEssentialName(t, n)
			if errors.Is(err, btf.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			roots = append(roots, ts...)
		}
	}
	b, err := btf.NewBuilder(roots, nil)
	if err != nil {
		return nil, err
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	return slices.Concat(kernelTypesMagic[:], sum[:], raw), nil
}

// writeKernelTypes writes spec's subset at path, from the kernel types of
// cache (decoded by the load that just ran).
func writeKernelTypes(path string, spec *ebpf.CollectionSpec, cache *btf.Cache) {
	names, ok := relocationNames(spec)
	if !ok {
		return
	}
	b, err := kernelTypesSubset(cache, names)
	if err != nil {
		return
	}
	// Failing to write only costs the next session the whole BTF.
	cachedir.WriteFile(filepath.Dir(path), filepath.Base(path), b)
}

// typesByEssentialName is what the CO-RE relocation looks up in a target
// for a local type: the types whose name, without a ___flavor, is name
// (Spec.TypesByName, whose argument type is not exported, called through
// reflection; an error if the method is not there as expected).
func typesByEssentialName(s *btf.Spec, name string) ([]btf.Type, error) {
	m := reflect.ValueOf(s).MethodByName("TypesByName")
	if !m.IsValid() || m.Type().NumIn() != 1 || m.Type().In(0).Kind() != reflect.String || m.Type().NumOut() != 2 {
		return nil, errors.New("btf.Spec has no TypesByName(name)")
	}
	out := m.Call([]reflect.Value{reflect.ValueOf(name).Convert(m.Type().In(0))})
	if err, _ := out[1].Interface().(error); err != nil {
		return nil, err
	}
	ts, ok := out[0].Interface().([]btf.Type)
	if !ok {
		return nil, errors.New("btf.Spec.TypesByName returns no []btf.Type")
	}
	return ts, nil
}
