package capture

import (
	"fmt"
	"os"

	"github.com/tracer-dev/tracer/loader"
)

// preparation is the capture program loaded ahead of Attach: loading it
// (about 35 ms, most of it the kernel's verifier and the ring)
// needs nothing of the target, so NewStream starts it on another
// goroutine, beside the loading of the Python frames program and the start
// of the command.
type preparation struct {
	done       chan struct{} // closed once the fields are set
	capture    *Capture
	featureErr error // from loader.ProbeFeatures
	err        error // loading failed
}

// prepareCapture starts loading the capture program and, for a run,
// looking up where the command's interpreter takes the uprobe.
func prepareCapture(command []string, ringBytes uint32) *preparation {
	p := &preparation{done: make(chan struct{})}
	if len(command) > 0 {
		go resolveAhead(command[0])
	}
	go func() {
		defer close(p.done)
		if err := loader.ProbeFeatures(loader.FeatureBPF, loader.FeatureUprobe); err != nil {
			p.featureErr = err
			return
		}
		c, err := NewCapture(CaptureOptions{RingBytes: ringBytes})
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
func (s *Stream) Close() error {
	<-s.prep.done
	c := s.prep.capture
	s.prep.capture = nil
	if c == nil {
		return nil
	}
	return c.Close()
}

// resolveAhead looks up the uprobe targets of the command's executable (or
// of the interpreter of its #! line) now, so that the cache of these
// lookups has them when the command execs: the kernel holds the process at
// that exec until its uprobe is placed, and finding uv_fs_write in node's
// 98 MB executable took 10-14 ms of that hold (placing the uprobe, the
// rest, takes 5-24 ms). The answer itself is not needed here; a wrong
// guess only costs the lookup.
func resolveAhead(argv0 string) {
	path, err := loader.LookPath(argv0, os.Environ())
	if err != nil {
		return
	}
	ResolveCommand(path, os.Getenv("PATH"))
}
