package loader

import (
	"reflect"
	"sync"

	"github.com/cilium/ebpf"
)

// KernelCode is a function of a BPF program this process loaded, where the
// kernel's JIT placed it. /proc/kallsyms lists it as bpf_prog_TAG_NAME in
// module [bpf] while the program is loaded, and only then: a sample taken
// inside tracer's own programs (a sampler, an exec hook) is named from
// these, exactly and without reading /proc/kallsyms, even after the
// programs are closed.
type KernelCode struct {
	Addr uint64
	Size uint32
	Name string // as /proc/kallsyms writes it
}

// ownCode is every function of the programs LoadCollection loaded, in load
// order.
var ownCode struct {
	sync.Mutex
	list []KernelCode
}

// OwnKernelCode returns the functions of the BPF programs this process has
// loaded so far, latest last.
func OwnKernelCode() []KernelCode {
	ownCode.Lock()
	defer ownCode.Unlock()
	return append([]KernelCode(nil), ownCode.list...)
}

// noteKernelCode records where the programs of objs (a bpf2go objects
// struct, just loaded) were placed: each program's main function. Its
// subprograms, which the kernel lists under tags of their own that it does
// not report, and programs whose JIT addresses it does not give, are left
// to kallsyms.
func noteKernelCode(objs any) {
	var found []KernelCode
	eachProgram(reflect.ValueOf(objs), func(name string, p *ebpf.Program) {
		info, err := p.Info()
		if err != nil || name == "" {
			return
		}
		addrs, ok := info.JitedKsymAddrs()
		lens, ok2 := info.JitedFuncLens()
		if !ok || !ok2 || len(addrs) == 0 || len(lens) == 0 || addrs[0] == 0 || info.Tag == "" {
			return
		}
		// The kernel names a program by its tag and its BTF function
		// name: the program's full name, which bpf2go puts in the field's
		// tag (info.Name is cut to 15 bytes).
		found = append(found, KernelCode{Addr: uint64(addrs[0]), Size: lens[0], Name: "bpf_prog_" + info.Tag + "_" + name})
	})
	ownCode.Lock()
	ownCode.list = append(ownCode.list, found...)
	ownCode.Unlock()
}

// eachProgram calls f for every non-nil *ebpf.Program field of the struct
// v points to, nested structs included, with the name in its ebpf tag.
func eachProgram(v reflect.Value, f func(name string, p *ebpf.Program)) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := range v.NumField() {
		field, fv := t.Field(i), v.Field(i)
		if !field.IsExported() {
			continue
		}
		if p, ok := fv.Interface().(*ebpf.Program); ok {
			if p != nil {
				f(field.Tag.Get("ebpf"), p)
			}
			continue
		}
		if fv.Kind() == reflect.Struct {
			eachProgram(fv.Addr(), f)
		}
	}
}
