package capture

import (
	"encoding/binary"
	"fmt"
)

// captureHdrLen is sizeof(struct batch_hdr) in bpf/capture.bpf.c.
const captureHdrLen = 32

// batchTruncated is BATCH_TRUNCATED in bpf/capture.bpf.c.
const batchTruncated = 1

// captureHdr mirrors struct batch_hdr: the header the BPF program puts before
// the bytes of each captured write.
type captureHdr struct {
	PID, TID uint32
	KTime    uint64
	Count    uint32 // the write's byte count
	Copied   uint32 // bytes after the header
	Flags    uint32
}

// parseCaptureRecord splits one ring record into its header and the copied
// bytes of the write.
func parseCaptureRecord(rec []byte) (captureHdr, []byte, error) {
	if len(rec) < captureHdrLen {
		return captureHdr{}, nil, fmt.Errorf("ring record of %d bytes is shorter than its header", len(rec))
	}
	le := binary.LittleEndian
	h := captureHdr{
		PID:    le.Uint32(rec[0:4]),
		TID:    le.Uint32(rec[4:8]),
		KTime:  le.Uint64(rec[8:16]),
		Count:  le.Uint32(rec[16:20]),
		Copied: le.Uint32(rec[20:24]),
		Flags:  le.Uint32(rec[24:28]),
	}
	if uint64(h.Copied) > uint64(len(rec)-captureHdrLen) {
		return h, nil, fmt.Errorf("ring record claims %d bytes, holds %d", h.Copied, len(rec)-captureHdrLen)
	}
	return h, rec[captureHdrLen : captureHdrLen+int(h.Copied)], nil
}
