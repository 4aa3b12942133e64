package loader

import (
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// kernelTypes shares the kernel's BTF, decoded once, between the BPF
// collections one tracer process loads (the capture program and the Python
// frame reader relocate against it): decoding /sys/kernel/btf/vmlinux takes
// about 11 ms of CPU each time, which every session paid twice.
var kernelTypes = btf.NewCache()

// loadMu makes the collections load one at a time. A session starts loading
// them beside its other start-up work; loading two at once was no faster
// than one after the other here, and it delayed the one needed first.
var loadMu sync.Mutex

// loadCollection loads spec into objs with the shared kernel types.
func loadCollection(spec *ebpf.CollectionSpec, objs any) error {
	loadMu.Lock()
	defer loadMu.Unlock()
	return spec.LoadAndAssign(objs, &ebpf.CollectionOptions{Cache: kernelTypes})
}
