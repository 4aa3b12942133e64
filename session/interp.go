package session

import (
	"context"
	"io"
	"path/filepath"
	"strings"

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
// of the same session, whose program hands node's samples to the V8
// walker. Notes go to log. The walker is loaded only for a command that
// runs node (Expect) or once node is found in the traced processes.
func NewJSFrames(log io.Writer, py *PythonFrames) *JSFrames {
	var d v8.Dispatcher
	if py != nil {
		d = py.Frames
	}
	return &JSFrames{v8.NewFrames(log, d)}
}

// Expect starts loading the V8 walker at once when the command runs node:
// node itself, a script whose #! line names node (npm, npx, a package's
// bin), or a shell command line that names node.
func (j *JSFrames) Expect(command, env []string, dir string) {
	if runsNode(command, env, dir) {
		j.Frames.Preload()
	}
}

// runsNode says whether a command line runs node, as far as can be told
// before it runs.
func runsNode(command, env []string, dir string) bool {
	for _, p := range cpython.Candidates(command, env, dir) {
		if v8.IsNodePath(p) {
			return true
		}
	}
	for _, arg := range command {
		for _, w := range strings.FieldsFunc(arg, func(r rune) bool { return strings.ContainsRune(" \t\n;|&()`'\"$", r) }) {
			switch filepath.Base(w) {
			case "npm", "npx", "yarn", "pnpm", "corepack":
				return true
			}
			if v8.IsNodePath(w) {
				return true
			}
		}
	}
	return false
}

// Attach starts reading JS frames.
func (j *JSFrames) Attach(_ context.Context, t Target) error {
	return j.Frames.Attach(t.PID, t.Attach, t.Path)
}

// Decorate puts the JS frames read with a sample into its stack.
func (j *JSFrames) Decorate(in *loader.Sample, out *export.Sample) {
	out.Stack = j.Frames.Merge(in.TID, in.Time, out.Stack)
}
