package session

import (
	"github.com/tracer-dev/tracer/capture/hooks"
	"github.com/tracer-dev/tracer/loader"
)

// Environ is a Plugin that changes the environment of the command of a run
// before it starts; cred is the user the command runs as (nil: tracer's
// own).
type Environ interface {
	Environ(env []string, cred *loader.Credential) ([]string, error)
}

// pluginEnv hands env to every Environ plugin in turn.
func (s *session) pluginEnv(env []string, cred *loader.Credential) ([]string, error) {
	for _, pl := range s.cfg.Plugins {
		if e, ok := pl.(Environ); ok {
			var err error
			if env, err = e.Environ(env, cred); err != nil {
				return nil, err
			}
		}
	}
	return env, nil
}

// Environ installs the --transition hooks (capture/hooks) when they were
// asked for and switches them on in the command's environment.
func (t *Transitions) Environ(env []string, cred *loader.Credential) ([]string, error) {
	if t.cfg.Hook == nil {
		return env, nil
	}
	uid, gid := -1, -1
	if cred != nil {
		uid, gid = int(cred.UID), int(cred.GID)
	}
	in, err := hooks.New(*t.cfg.Hook, uid, gid)
	if err != nil {
		return nil, err
	}
	t.hooks = in
	return in.Env(env), nil
}

// hookNotes reports what the hooks saw (calls that could not be read, ...)
// and returns why nothing was captured, if nothing was; then removes the
// hooks' directory. Called with t.mu held, at Detach.
func (t *Transitions) hookNotes() (whyNone string) {
	if t.hooks == nil {
		return ""
	}
	r := t.hooks.Report()
	for _, n := range r.Notes() {
		t.note("%s", n)
	}
	whyNone = r.WhyNone()
	t.hooks.Close()
	t.hooks = nil
	return whyNone
}

// writeEmptyTrace writes the --trace file when no process reported a
// transition: an empty trace, which tracer check reads as one with no steps.
func (t *Transitions) writeEmptyTrace() error {
	if t.cfg.Trace == "" || len(t.order) > 0 {
		return nil
	}
	f, err := createStream(t.cfg.Trace, t.cred)
	if err != nil {
		return err
	}
	return f.Commit()
}
