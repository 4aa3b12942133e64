package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestParseFrame(t *testing.T) {
	rec := []byte(`{"kind":"step","seq":1}` + "\n")
	good := AppendFrame(nil, 7, rec)
	wrongLen := bytes.Clone(good)
	binary.LittleEndian.PutUint32(wrongLen[8:12], 3)
	partial := AppendFrame(nil, 2, []byte(`{"kind":"step"`))
	tooLong := AppendFrame(nil, 1, bytes.Repeat([]byte("x\n"), FrameMaxLen/2))
	largest := AppendFrame(nil, 9, append(bytes.Repeat([]byte(" "), FrameMaxLen-FrameHeaderLen-1), '\n'))
	for _, tc := range []struct {
		name    string
		in      []byte
		number  uint32
		payload []byte
		err     error
	}{
		{"one record", good, 7, rec, nil},
		{"empty payload", AppendFrame(nil, 1, nil), 1, []byte{}, nil},
		{"largest", largest, 9, largest[FrameHeaderLen:], nil},
		{"ordinary text", []byte("hello, world, this is text\n"), 0, nil, ErrNotFrame},
		{"short", FrameMagic[:], 0, nil, ErrNotFrame},
		{"length mismatch", wrongLen, 0, nil, ErrFrameLength},
		{"cut short", good[:len(good)-1], 0, nil, ErrFrameLength},
		{"too long", tooLong, 0, nil, ErrFrameTooLong},
		{"partial record", partial, 2, []byte(`{"kind":"step"`), ErrFramePartial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFrame(tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if f.Number != tc.number || !bytes.Equal(f.Payload, tc.payload) {
				t.Fatalf("got number %d payload %q, want %d %q", f.Number, f.Payload, tc.number, tc.payload)
			}
		})
	}
}

func TestParseTruncatedFrame(t *testing.T) {
	payload := []byte("{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}\n")
	whole := AppendFrame(nil, 4, payload)
	cut := whole[:FrameHeaderLen+15] // inside the second record
	f, dropped, err := ParseTruncatedFrame(cut, uint64(len(whole)))
	if err != nil {
		t.Fatal(err)
	}
	if f.Number != 4 || string(f.Payload) != "{\"seq\":1}\n" || dropped != uint64(len(payload)-10) {
		t.Fatalf("got %d %q dropped %d", f.Number, f.Payload, dropped)
	}
	if _, _, err := ParseTruncatedFrame(cut, uint64(len(whole)+1)); !errors.Is(err, ErrFrameLength) {
		t.Fatalf("wrong count: err = %v, want ErrFrameLength", err)
	}
}

func TestRecords(t *testing.T) {
	var got []string
	err := Records([]byte("a\n\nbb\nccc"), func(l []byte) error { got = append(got, string(l)); return nil })
	if err != nil || len(got) != 3 || got[0] != "a" || got[1] != "bb" || got[2] != "ccc" {
		t.Fatalf("Records = %q, %v", got, err)
	}
	stop := errors.New("stop")
	if err := Records([]byte("a\nb\n"), func([]byte) error { return stop }); err != stop {
		t.Fatalf("error not passed on: %v", err)
	}
}

func TestParseCaptureRecord(t *testing.T) {
	rec := make([]byte, captureHdrLen+5)
	binary.LittleEndian.PutUint32(rec[0:], 10)
	binary.LittleEndian.PutUint32(rec[4:], 11)
	binary.LittleEndian.PutUint64(rec[8:], 12345)
	binary.LittleEndian.PutUint32(rec[16:], 99)
	binary.LittleEndian.PutUint32(rec[20:], 3)
	binary.LittleEndian.PutUint32(rec[24:], batchTruncated)
	copy(rec[captureHdrLen:], "abcde")
	h, data, err := parseCaptureRecord(rec)
	if err != nil || h.Pid != 10 || h.Tid != 11 || h.Ktime != 12345 || h.Count != 99 || h.Flags != batchTruncated || string(data) != "abc" {
		t.Fatalf("got %+v %q %v", h, data, err)
	}
	binary.LittleEndian.PutUint32(rec[20:], 6)
	if _, _, err := parseCaptureRecord(rec); err == nil {
		t.Fatal("a record claiming more bytes than it holds was accepted")
	}
	if _, _, err := parseCaptureRecord(rec[:10]); err == nil {
		t.Fatal("a record shorter than its header was accepted")
	}
}

// FuzzParseFrame: no input makes the decoder panic, and what it accepts
// re-encodes to the same bytes.
func FuzzParseFrame(f *testing.F) {
	f.Add(AppendFrame(nil, 1, []byte("{}\n")))
	f.Add(AppendFrame(nil, 0, nil))
	f.Add([]byte("plain text"))
	f.Add(FrameMagic[:])
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseFrame(b)
		if err == nil {
			if again := AppendFrame(nil, fr.Number, fr.Payload); !bytes.Equal(again, b) {
				t.Fatalf("accepted %q but re-encodes to %q", b, again)
			}
		}
		if IsFrame(b) && len(b) >= FrameHeaderLen {
			cf, dropped, err := ParseTruncatedFrame(b, uint64(len(b)))
			if err == nil && (len(cf.Payload) > len(b)-FrameHeaderLen || dropped > uint64(len(b))) {
				t.Fatalf("truncated parse of %q: %d bytes, dropped %d", b, len(cf.Payload), dropped)
			}
		}
	})
}
