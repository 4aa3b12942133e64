package session

import (
	"context"
	"io"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/interp/cpython"
	v8 "github.com/tracer-dev/tracer/interp/v8"
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

// JSFrames is the Plugin that puts JavaScript functions into the sampled
// stacks of node processes: it wires v8.Frames (the interpreter's own
// package) into a session, with the Python frames plugin's program
// handing node's samples to the V8 walker.
type JSFrames struct {
	*v8.Frames
}

// NewJSFrames returns the JS frames plugin; py is the Python frames plugin
// of the same session. Notes go to log.
func NewJSFrames(log io.Writer, py *PythonFrames) *JSFrames {
	var d v8.Dispatcher
	if py != nil {
		d = py.Frames
	}
	return &JSFrames{v8.NewFrames(log, d)}
}

// Attach starts reading JS frames.
func (j *JSFrames) Attach(_ context.Context, t Target) error {
	return j.Frames.Attach(t.PID, t.Attach, t.All, t.Path)
}

// Decorate puts the JS frames read with a sample into its stack.
func (j *JSFrames) Decorate(in *loader.Sample, out *export.Sample) {
	out.Stack = j.Frames.Merge(in.TID, in.Time, out.Stack)
}
