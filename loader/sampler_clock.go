package loader

import "golang.org/x/sys/unix"

// MonotonicNow reads CLOCK_MONOTONIC in nanoseconds, the clock of sample
// and transition record times.
func MonotonicNow() uint64 { return monotonicNow() }

func monotonicNow() uint64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}
