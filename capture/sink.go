package capture

import (
	"errors"
	"os"
	"strings"
	"syscall"

	"github.com/tracer-dev/tracer/loader"
)

// probeFile is TRACER_PROBE_FILE when TRACER_PROBE_FRAMED=1 asks the binding
// to write framed batches there, and the user who owns the command.
type probeFile struct {
	path string
	cred *loader.Credential
}

// UseProbeFile makes TRACER_PROBE_FILE (from env) one of the binding's
// sinks when TRACER_PROBE_FRAMED=1 asks the binding to write framed batches
// there (as it does to the null device otherwise). Call it before Start.
func (s *Stream) UseProbeFile(env []string, cred *loader.Credential) {
	path, framed := envValue(env, "TRACER_PROBE_FILE"), envValue(env, "TRACER_PROBE_FRAMED")
	if path != "" && framed == "1" {
		s.probeFile = &probeFile{path, cred}
	}
}

// addProbeFileSink registers the probe file with c. The file is created
// empty, owned by the command's user, when it does not exist yet, so that
// its inode is known before the binding opens it (it truncates, keeping the
// inode).
func (s *Stream) addProbeFileSink(c *Capture) {
	pf := s.probeFile
	if pf == nil {
		return
	}
	f, err := os.OpenFile(pf.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if err == nil {
		if pf.cred != nil {
			f.Chown(int(pf.cred.UID), int(pf.cred.GID))
		}
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		s.cfg.Note("TRACER_PROBE_FILE=%s: %v: its batches are not captured", pf.path, err)
		return
	}
	if err := c.AddSink(pf.path); err != nil {
		s.cfg.Note("TRACER_PROBE_FILE=%s: %v: its batches are not captured", pf.path, err)
	}
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}
