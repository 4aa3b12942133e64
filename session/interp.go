package session

import (
	"context"
	"io"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/interp/cpython"
	"github.com/tracer-dev/tracer/loader"
)

// PythonFrames is the Plugin that puts Python functions into sampled
// stacks: it wires cpython.Frames (the interpreter's own package) into a
// session.
type PythonFrames struct {
	*cpython.Frames
}

// NewPythonFrames returns the Python frames plugin; notes are printed to
// log. It starts loading its BPF program at once (see cpython.NewFrames).
func NewPythonFrames(log io.Writer) *PythonFrames {
	return &PythonFrames{cpython.NewFrames(log)}
}

// Attach starts reading Python stacks from the session's sampler events.
func (p *PythonFrames) Attach(_ context.Context, t Target) error {
	running := 0
	if t.Attach {
		running = t.PID
	} else if len(t.Command) > 0 {
		p.Frames.Expect(cpython.Candidates(t.Command, t.Env, t.Dir))
	}
	return p.Frames.Attach(t.Events, running)
}

// Decorate puts the Python frames read with a sample into its stack.
func (p *PythonFrames) Decorate(in *loader.Sample, out *export.Sample) {
	out.Stack = p.Frames.Merge(in.TID, in.Time, out.Stack)
}
