package bpf

import (
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// TestRecordSizes pins the Go types generated from headers/tracer.h to the
// record lengths the programs write and read, and to the sizes in the
// objects' BTF.
func TestRecordSizes(t *testing.T) {
	pyperf, err := LoadPyperf()
	if err != nil {
		t.Fatal(err)
	}
	capture, err := LoadCapture()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		spec *ebpf.CollectionSpec
		name string
		got  uintptr
		want uint32
	}{
		{pyperf, "py_config", unsafe.Sizeof(PyperfPyConfig{}), 112},
		{pyperf, "py_file_key", unsafe.Sizeof(PyperfPyFileKey{}), 16},
		{pyperf, "py_code_event", unsafe.Sizeof(PyperfPyCodeEvent{}), 32 + 128 + 256 + 16384},
		{pyperf, "py_frame", unsafe.Sizeof(PyperfPyFrame{}), 16},
		{pyperf, "py_event", unsafe.Sizeof(PyperfPyEvent{}), 40 + 128*16},
		{capture, "batch_hdr", unsafe.Sizeof(CaptureBatchHdr{}), 32},
		{capture, "exec_event", unsafe.Sizeof(CaptureExecEvent{}), 8},
	} {
		var s *btf.Struct
		if err := c.spec.Types.TypeByName(c.name, &s); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if uint32(c.got) != c.want || s.Size != c.want {
			t.Errorf("struct %s: Go %d bytes, BTF %d, want %d", c.name, c.got, s.Size, c.want)
		}
	}
	if n := len(PyperfPyEvent{}.Frames); n != int(PyperfPyLimitsPY_MAX_FRAMES) {
		t.Errorf("py_event holds %d frames, PY_MAX_FRAMES is %d", n, PyperfPyLimitsPY_MAX_FRAMES)
	}
}

// TestReadShortRecord: a record cut short fills only the start of the type.
func TestReadShortRecord(t *testing.T) {
	ev := PyperfPyEvent{Tstate: 7}
	b := []byte{1, 0, 0, 0, 2, 0, 0, 0}
	if n := Read(b, &ev); n != 8 || ev.Pid != 1 || ev.Tid != 2 || ev.Tstate != 7 {
		t.Errorf("read %d bytes: %+v", n, ev)
	}
}
