package session

import (
	"context"

	"github.com/elastic/go-perf"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/symbolize"
)

// Target is what a Plugin is told when it is attached.
type Target struct {
	PID    int  // the traced process (for run: the pid that will exec the command)
	Attach bool // tracer attach: the process was already running
	// Path is the executable the command will exec (run only).
	Path string
	// All is the host-wide mode: PID is 0, the events sample every
	// process, and the followed ones are told to a RunningAdder (already
	// running) or seen in the records (started later).
	All bool
	// Events are the sampler's perf events (one per CPU and thread), for
	// attaching a BPF program to them with perf.Event.SetBPF.
	Events []*perf.Event
	// Symbolizer is the session's symbolizer, fed with the target's
	// mappings in record order.
	Symbolizer *symbolize.Symbolizer
	// Cred is the user who gets the output files (the sudo user, or
	// --user); nil means tracer's own.
	Cred *loader.Credential
	// Command, Env and Dir are the command line (argv[0] resolved), its
	// environment and working directory (run only), for plugins that
	// prepare for what it will exec.
	Command []string
	Env     []string
	Dir     string
}

// Plugin adds to a session. All methods are called from the session's own
// goroutine, never concurrently.
type Plugin interface {
	// Attach is called once the samplers are open, before the command is
	// released (run) or before sampling is reported (attach). An error
	// ends the session.
	Attach(ctx context.Context, t Target) error
	// Observe sees every sampler record (*loader.Sample, *loader.Mmap,
	// *loader.Comm, *loader.Fork, *loader.Exit, *loader.Lost) as it is
	// read, in ring order (ordered per CPU, not across CPUs), before any
	// symbolization. It must be quick: it runs on the reading path.
	Observe(rec loader.Record)
	// Detach is called once the target has ended or tracing was stopped
	// and every record has been observed.
	Detach() error
}

// Decorator is a Plugin that also changes samples before export: it may add
// frames to out.Stack (leaf first), or set out.Step and out.Action from the
// transition running on in.TID at in.Time. Samples are decorated in time
// order after Detach.
type Decorator interface {
	Decorate(in *loader.Sample, out *export.Sample)
}

// EventAttacher is a Plugin that attaches a BPF program to each sampler
// event the moment it is opened, before the target can create a thread: an
// inherited event copies the program only if it was set before the thread
// was created (and the kernel swaps the event contexts of a thread and its
// clones freely), so attaching in Attach would miss threads and, after an
// exec from a swapped context, the command itself.
type EventAttacher interface {
	AttachEvent(ev *perf.Event) error
}

// Preparer is a Plugin that gets ready in the background from the moment
// it is made (loading a BPF program beside everything else tracer does at
// its start). The session calls Ready, which waits until it is, before it
// opens the samplers: an EventAttacher must not wait in AttachEvent, since a
// thread the target creates between an event's opening and its program's
// attachment inherits the event without the program.
type Preparer interface {
	Ready()
}

// readyPlugins waits until every Preparer is ready.
func (s *session) readyPlugins() {
	for _, pl := range s.cfg.Plugins {
		if p, ok := pl.(Preparer); ok {
			p.Ready()
		}
	}
	s.tm.mark("plugins ready")
}

// onOpen hands a newly opened sampler event to the EventAttachers.
func (s *session) onOpen(ev *perf.Event) error {
	for _, pl := range s.cfg.Plugins {
		if a, ok := pl.(EventAttacher); ok {
			if err := a.AttachEvent(ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// Closer is a Plugin that holds something from the moment it is made (a
// BPF program loaded ahead of the session). Run calls Close when it
// returns; for a plugin that was attached, Detach has released everything
// and Close does nothing.
type Closer interface {
	Close() error
}

// closePlugins closes the plugins that have a Close.
func closePlugins(plugins []Plugin) {
	for _, pl := range plugins {
		if c, ok := pl.(Closer); ok {
			_ = c.Close()
		}
	}
}

// Expecter is a Plugin told of the command line before the command starts
// (tracer run: argv[0] resolved, its environment and working directory), to
// get ready for what it will exec beside tracer's own start.
type Expecter interface {
	Expect(command, env []string, dir string)
}

// expectPlugins tells the Expecters of the command line.
func (s *session) expectPlugins(command, env []string, dir string) {
	for _, pl := range s.cfg.Plugins {
		if e, ok := pl.(Expecter); ok {
			e.Expect(command, env, dir)
		}
	}
}
