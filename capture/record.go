package capture

import (
	"fmt"
	"unsafe"

	"github.com/tracer-dev/tracer/bpf"
)

// captureHdrLen is the size of struct batch_hdr (bpf/headers/tracer.h).
const captureHdrLen = int(unsafe.Sizeof(bpf.CaptureBatchHdr{}))

// batchTruncated: the write was longer than the largest record; its first
// bytes follow.
const batchTruncated = uint32(bpf.CaptureBatchFlagBATCH_TRUNCATED)

// parseCaptureRecord splits one ring record into its header and the copied
// bytes of the write.
func parseCaptureRecord(rec []byte) (bpf.CaptureBatchHdr, []byte, error) {
	var h bpf.CaptureBatchHdr
	if len(rec) < captureHdrLen {
		return h, nil, fmt.Errorf("ring record of %d bytes is shorter than its header", len(rec))
	}
	bpf.Read(rec, &h)
	if uint64(h.Copied) > uint64(len(rec)-captureHdrLen) {
		return h, nil, fmt.Errorf("ring record claims %d bytes, holds %d", h.Copied, len(rec)-captureHdrLen)
	}
	return h, rec[captureHdrLen : captureHdrLen+int(h.Copied)], nil
}
