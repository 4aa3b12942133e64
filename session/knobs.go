package session

import (
	"os"
	"strconv"
)

// The ring sizes can be set from the environment, for tests and
// measurements that need a ring too small for the load (every loss is
// counted and reported) or a larger one for a heavy target. They are not
// flags: the defaults suit every ordinary use.
const (
	// SamplerRingPagesEnv sets the pages of each CPU's sampler ring: a
	// power of two (default 128, 512 KiB).
	SamplerRingPagesEnv = "TRACER_SAMPLER_RING_PAGES"
	// CaptureRingBytesEnv sets the bytes of the transition capture's ring
	// buffer: a power of two, at least one page (default 8 MiB, see
	// loader.CaptureOptions).
	CaptureRingBytesEnv = "TRACER_CAPTURE_RING_BYTES"
)

// maxRingBytes bounds both knobs (1 GiB).
const maxRingBytes = 1 << 30

// samplerRingPages reads SamplerRingPagesEnv; 0 means the default.
func samplerRingPages() (int, error) {
	n, err := ringKnob(SamplerRingPagesEnv, 1, uint64(maxRingBytes/os.Getpagesize()))
	return int(n), err
}

// captureRingBytes reads CaptureRingBytesEnv; 0 means the default.
func captureRingBytes() (uint32, error) {
	n, err := ringKnob(CaptureRingBytesEnv, uint64(os.Getpagesize()), maxRingBytes)
	return uint32(n), err
}

func ringKnob(name string, lo, hi uint64) (uint64, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n < lo || n > hi || n&(n-1) != 0 {
		return 0, usagef("invalid %s=%q: give a power of two from %d to %d, or unset it", name, v, lo, hi)
	}
	return n, nil
}
