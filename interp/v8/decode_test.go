package v8

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/tracer-dev/tracer/bpf"
)

// The Go side of the walker's records is the generated type: pin the sizes
// the decoder reads by.
func TestEventLayout(t *testing.T) {
	if got := unsafe.Sizeof(bpf.V8V8Frame{}); got != 40 {
		t.Errorf("v8_frame is %d bytes, the decoder reads 40", got)
	}
	if eventHeader != 24 || maxFrames != 128 {
		t.Errorf("v8_event header %d bytes, %d frames; the decoder reads 24 and 128", eventHeader, maxFrames)
	}
}

func TestDecodeStack(t *testing.T) {
	b := make([]byte, eventHeader+2*frameSize)
	le := binary.LittleEndian
	le.PutUint32(b[0:], 10)
	le.PutUint32(b[4:], 11)
	le.PutUint64(b[8:], 12345)
	le.PutUint16(b[20:], 2)
	f := b[eventHeader:]
	le.PutUint64(f, 0x1000)
	le.PutUint64(f[8:], 0x2001)
	le.PutUint32(f[32:], 77)
	le.PutUint32(f[36:], flagInterpreted|flagLeaf)
	st, err := decodeStack(b)
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != 10 || st.TID != 11 || st.Time != 12345 || len(st.Frames) != 2 {
		t.Fatalf("decoded %+v", st)
	}
	if fr := st.Frames[0]; fr.PC != 0x1000 || fr.SFI != 0x2001 || fr.Offset != 77 || !fr.Interpreted || !fr.Leaf {
		t.Errorf("frame 0: %+v", fr)
	}
	if _, err := decodeStack(b[:eventHeader+frameSize]); err == nil {
		t.Error("a record shorter than its frame count was accepted")
	}
}

func FuzzDecodeStack(f *testing.F) {
	f.Add(make([]byte, eventHeader+frameSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeStack(b)
		if err == nil && len(st.Frames) > maxFrames {
			t.Fatalf("%d frames", len(st.Frames))
		}
	})
}

// A source position table is pairs of zigzag VLQs: code offset delta
// (negative for statement positions), source position delta.
func TestFindPosition(t *testing.T) {
	zig := func(v int64) byte { return byte(uint64(v<<1) ^ uint64(v>>63)) }
	// entries: (code 0, pos 10), (code 5, pos 30), (code 9, pos 25)
	table := []byte{zig(1), zig(10), zig(5), zig(20), zig(-5), zig(-5)}
	for _, c := range []struct {
		off  int64
		want uint64
	}{{0, 10}, {4, 10}, {5, 30}, {8, 30}, {9, 25}, {100, 25}} {
		if got := findPosition(table, c.off); got != c.want {
			t.Errorf("offset %d: position %d, want %d", c.off, got, c.want)
		}
	}
	if got := findPosition(nil, 3); got != 0 {
		t.Errorf("empty table: %d", got)
	}
}
