package session

import (
	"time"

	"golang.org/x/sys/unix"
)

// sampleWindow is the time the samplers ran, in CLOCK_MONOTONIC, the
// clock of the samples: a run's duration and its rates are measured from
// the moment the samplers could first fire (opened for attach, released
// for run) to the moment the duration is taken, and a sample outside that
// window is not counted. So a profile never claims more samples per second
// than the frequency on one busy thread, nor more CPU than wall time.
type sampleWindow struct {
	wallStart  time.Time
	start, end uint64 // ns; end 0 while open
}

func monoNow() uint64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}

// open starts the window now.
func (w *sampleWindow) open() {
	w.wallStart = time.Now()
	w.start = monoNow()
}

// close ends the window now and returns its length.
func (w *sampleWindow) close() time.Duration {
	w.end = monoNow()
	if w.start == 0 {
		return 0
	}
	return time.Duration(w.end - w.start)
}

// holds reports whether a sample taken at t (CLOCK_MONOTONIC ns) falls in
// the window. An open window, or one never opened, holds everything after
// its start.
func (w *sampleWindow) holds(t uint64) bool {
	return t >= w.start && (w.end == 0 || t <= w.end)
}
