package session

import (
	"errors"
	"os"
	"syscall"

	"github.com/tracer-dev/tracer/loader"
)

// addProbeFileSink makes TRACER_PROBE_FILE one of the binding's sinks when
// TRACER_PROBE_FRAMED=1 asks the binding to write framed batches there (as
// it does to the null device otherwise). The file is created empty, owned
// by the command's user, when it does not exist yet, so that its inode is
// known before the binding opens it (it truncates, keeping the inode).
func (t *Transitions) addProbeFileSink(c *loader.Capture, env []string) {
	path, framed := envValue(env, "TRACER_PROBE_FILE"), envValue(env, "TRACER_PROBE_FRAMED")
	if path == "" || framed != "1" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if err == nil {
		if t.cred != nil {
			f.Chown(int(t.cred.UID), int(t.cred.GID))
		}
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		t.note("TRACER_PROBE_FILE=%s: %v: its batches are not captured", path, err)
		return
	}
	if err := c.AddSink(path); err != nil {
		t.note("TRACER_PROBE_FILE=%s: %v: its batches are not captured", path, err)
	}
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if len(env[i]) > len(key) && env[i][:len(key)] == key && env[i][len(key)] == '=' {
			return env[i][len(key)+1:]
		}
	}
	return ""
}
