package session

import (
	"fmt"
	"io"
	"time"
)

// processStart is the moment the session package was initialized: early
// in tracer's process, before the command line is parsed.
var processStart = time.Now()

// timer prints phase marks when Config.Timing is set; the zero value
// prints nothing.
type timer struct {
	w    io.Writer
	last time.Time
}

func newTimer(w io.Writer, on bool) *timer {
	if !on {
		return &timer{}
	}
	return &timer{w: w, last: processStart}
}

// mark prints the time since the previous mark and since the start.
func (t *timer) mark(phase string) {
	if t == nil || t.w == nil {
		return
	}
	now := time.Now()
	fmt.Fprintf(t.w, "tracer: timing: %-24s %7.1f ms (at %7.1f ms)\n", phase,
		float64(now.Sub(t.last).Microseconds())/1000, float64(now.Sub(processStart).Microseconds())/1000)
	t.last = now
}
