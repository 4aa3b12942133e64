package capture

import "github.com/tracer-dev/tracer/bpf"

// Indices of the per-CPU counters map (enum capture_counter in
// bpf/headers/tracer.h).
const (
	ctrHits      = bpf.CaptureCaptureCounterCTR_HITS
	ctrBatches   = bpf.CaptureCaptureCounterCTR_BATCHES
	ctrTruncated = bpf.CaptureCaptureCounterCTR_TRUNCATED
	ctrMalformed = bpf.CaptureCaptureCounterCTR_MALFORMED
	ctrRingFull  = bpf.CaptureCaptureCounterCTR_RING_FULL
	ctrReadFail  = bpf.CaptureCaptureCounterCTR_READ_FAIL
	ctrExecLost  = bpf.CaptureCaptureCounterCTR_EXEC_LOST
	ctrNotSink   = bpf.CaptureCaptureCounterCTR_NOT_SINK
	ctrMax       = bpf.CaptureCaptureCounterCTR_MAX
)
