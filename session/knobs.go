package session

import (
	"os"
	"strconv"
)

// The sampler ring size can be set from the environment, for tests and
// measurements that need a ring too small for the load (every loss is
// counted and reported) or a larger one for a heavy target. It is not a
// flag: the default suits every ordinary use.
const (
	// SamplerRingPagesEnv sets the pages of each CPU's sampler ring: a
	// power of two (default 128, 512 KiB).
	SamplerRingPagesEnv = "TRACER_SAMPLER_RING_PAGES"
)

// maxRingBytes bounds the knob (1 GiB).
const maxRingBytes = 1 << 30

// samplerRingPages reads SamplerRingPagesEnv; 0 means the default.
func samplerRingPages() (int, error) {
	n, err := ringKnob(SamplerRingPagesEnv, 1, uint64(maxRingBytes/os.Getpagesize()))
	return int(n), err
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
