// Package bpf holds tracer's BPF programs: the C sources, their headers, and the
// Go bindings that bpf2go generates from them. The generated *_bpfel.go and
// *_bpfel.o files are committed beside their sources so that `go build` needs no
// clang; `make generate` rebuilds them with Debian's clang-19, and
// `make check-generated` fails when the committed objects are stale.
//
// headers/tracer.h declares, once, every struct, counter index and flag that
// crosses between the programs and Go; bpf2go -type generates each into Go
// (Pyperf*, Capture*), and Read decodes ring records into them.
// layout_test.go pins their sizes. .clang-format is the programs' style.
//
// headers/vmlinux.h is the kernel's BTF dumped as C
// (bpftool btf dump file /sys/kernel/btf/vmlinux format c); the libbpf helper
// headers come from Debian's libbpf-dev (/usr/include/bpf).
package bpf
