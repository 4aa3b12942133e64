package capture

// Indices of the per-CPU counters map; enum counter in bpf/capture.bpf.c.
const (
	ctrHits = iota
	ctrBatches
	ctrTruncated
	ctrMalformed
	ctrRingFull
	ctrReadFail
	ctrExecLost
	ctrMax
)
