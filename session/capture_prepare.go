package session

import (
	"fmt"

	"github.com/tracer-dev/tracer/loader"
)

// preparation is the capture program loaded ahead of Attach: loading it
// (about 35 ms, most of it the kernel's verifier and the 64 MiB ring)
// needs nothing of the target, so NewTransitions starts it on another
// goroutine, beside the loading of the Python frames program and the start
// of the command.
type preparation struct {
	done       chan struct{} // closed once the fields are set
	capture    *loader.Capture
	featureErr error // from loader.ProbeFeatures
	err        error // the ring size knob or loading failed
}

func prepareCapture() *preparation {
	p := &preparation{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		if err := loader.ProbeFeatures(loader.FeatureBPF, loader.FeatureUprobe); err != nil {
			p.featureErr = err
			return
		}
		ring, err := captureRingBytes()
		if err != nil {
			p.err = err
			return
		}
		c, err := loader.NewCapture(loader.CaptureOptions{RingBytes: ring})
		if err != nil {
			p.err = fmt.Errorf("transition capture: %w", err)
			return
		}
		p.capture = c
	}()
	return p
}

// Close frees the capture program of a plugin that was never attached (a
// session that ended before it started tracing); after Attach it does
// nothing.
func (t *Transitions) Close() error {
	<-t.prep.done
	c := t.prep.capture
	t.prep.capture = nil
	if c == nil {
		return nil
	}
	return c.Close()
}
