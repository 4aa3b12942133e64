package capture

import (
	"encoding/binary"
	"testing"
)

// captureRecord builds a ring record as bpf/capture.bpf.c writes it.
func captureRecord(count uint32, flags uint32, data []byte) []byte {
	rec := make([]byte, captureHdrLen, captureHdrLen+len(data))
	le := binary.LittleEndian
	le.PutUint32(rec[0:], 42)
	le.PutUint32(rec[4:], 43)
	le.PutUint64(rec[8:], 123456789)
	le.PutUint32(rec[16:], count)
	le.PutUint32(rec[20:], uint32(len(data)))
	le.PutUint32(rec[24:], flags)
	return append(rec, data...)
}

// FuzzCaptureRecord feeds arbitrary ring records through the reader's
// decoding (header, then whole or truncated frame): no panic, and what is
// accepted lies inside the record.
func FuzzCaptureRecord(f *testing.F) {
	batch := AppendFrame(nil, 7, []byte("{\"kind\":\"step\"}\n"))
	f.Add(captureRecord(uint32(len(batch)), 0, batch))
	f.Add(captureRecord(70000, batchTruncated, AppendFrame(nil, 8, []byte("{}\n{\"a\""))[:24]))
	f.Add(captureRecord(5, 0, []byte("plain")))
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, rec []byte) {
		h, data, err := parseCaptureRecord(rec)
		if err != nil {
			return
		}
		if len(data) != int(h.Copied) || len(data) > len(rec) {
			t.Fatalf("record of %d bytes gave %d data bytes, header says %d", len(rec), len(data), h.Copied)
		}
		if h.Flags&batchTruncated != 0 {
			fr, dropped, err := ParseTruncatedFrame(data, uint64(h.Count))
			if err == nil && (len(fr.Payload) > len(data) || dropped > uint64(h.Count)) {
				t.Fatalf("truncated frame: %d payload bytes of %d, %d dropped of %d", len(fr.Payload), len(data), dropped, h.Count)
			}
			return
		}
		if fr, err := ParseFrame(data); err == nil && len(fr.Payload)+FrameHeaderLen != len(data) {
			t.Fatalf("frame of %d bytes with a payload of %d", len(data), len(fr.Payload))
		}
	})
}
