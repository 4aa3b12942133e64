package cpython

import (
	"testing"
	"unsafe"

	"github.com/tracer-dev/tracer/bpf"
)

// FuzzDecodePyStack: ring records of any content decode or fail, never
// panic, and never claim more frames than they hold.
func FuzzDecodePyStack(f *testing.F) {
	rec := make([]byte, pyEventHeader+2*16)
	rec[20] = 2
	f.Add(rec)
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodePyStack(b)
		if err != nil {
			return
		}
		if pyEventHeader+len(st.Frames)*16 > len(b) {
			t.Fatalf("%d frames from %d bytes", len(st.Frames), len(b))
		}
	})
}

// FuzzDecodePyCode: code records of any content decode or fail, never
// panic, and never hold more of a line table than the record.
func FuzzDecodePyCode(f *testing.F) {
	rec := make([]byte, unsafe.Offsetof(bpf.PyperfPyCodeEvent{}.Lines)+4)
	rec[0], rec[1], rec[2], rec[3] = 0xff, 0xff, 0xff, 0xff
	f.Add(rec)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		ec, err := decodePyCode(b)
		if err != nil {
			return
		}
		if int(unsafe.Offsetof(bpf.PyperfPyCodeEvent{}.Lines))+len(ec.Linetable) > len(b) {
			t.Fatalf("%d line-table bytes from %d bytes", len(ec.Linetable), len(b))
		}
	})
}
