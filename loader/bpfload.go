package loader

import (
	"sync/atomic"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// kernelTypes shares the kernel's BTF, decoded once, between the BPF
// collections one tracer process loads (the capture program and the Python
// frame reader relocate against it): decoding /sys/kernel/btf/vmlinux takes
// about 11 ms of CPU each time, which every session paid twice. The cache
// is safe for concurrent use: collections loading at the same time wait for
// one decoding. (Loading the two collections at once, on this 2-CPU
// machine when idle: both done at 31-38 ms, against 43-47 ms one after the
// other; with one CPU busy elsewhere, about the same either way.)
//
// Once a session's programs are loaded, ReleaseKernelTypes lets the
// decoded types go (about 4 MiB, and the mapping of the file): a program
// loaded later (the V8 walker, when a node process appears) decodes them
// again.
var kernelTypes atomic.Pointer[btf.Cache]

// LoadCollection loads spec into objs with the shared kernel types.
// It notes where the kernel placed the programs (OwnKernelCode).
func LoadCollection(spec *ebpf.CollectionSpec, objs any) error {
	kernelTypes.CompareAndSwap(nil, btf.NewCache())
	if err := spec.LoadAndAssign(objs, &ebpf.CollectionOptions{Cache: kernelTypes.Load()}); err != nil {
		return err
	}
	noteKernelCode(objs)
	return nil
}

// ReleaseKernelTypes drops the shared kernel types decoded so far; a
// collection loading meanwhile keeps what it took.
func ReleaseKernelTypes() { kernelTypes.Store(nil) }
