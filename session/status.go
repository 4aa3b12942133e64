package session

import (
	"fmt"
	"time"
)

// statusEvery is how often the status line is refreshed.
const statusEvery = 500 * time.Millisecond

// showStatus keeps a one-line status (elapsed, samples, samples/s, lost) on
// the log while tracing, when the log is a terminal. The returned function
// stops it and clears the line.
func (s *session) showStatus(what string) (stop func()) {
	if !s.cfg.LogIsTerminal {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(statusEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(s.log, "\r\033[K")
				return
			case <-t.C:
				el := time.Since(s.start)
				st := s.sampler.Stats()
				fmt.Fprintf(s.log, "\r\033[K%s: %.1f s, %d samples, %.0f/s, %d lost",
					what, el.Seconds(), st.Samples, float64(st.Samples)/el.Seconds(), st.Lost)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
