package session

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/loader"
)

// checkOutputs makes sure every output file can be created before tracing
// starts, so that a mistyped -o costs a second, not a whole run. The files
// themselves are written at the end, whole or not at all (export.WriteFile).
func (c *Config) checkOutputs() error {
	outs := []OutputFile{{"-o", c.Output}, {"--folded", c.Folded}}
	for _, pl := range c.Plugins {
		if o, ok := pl.(Outputter); ok {
			outs = append(outs, o.Outputs()...)
		}
	}
	for _, o := range outs {
		if o.Path == "" || o.Path == "-" {
			continue
		}
		if err := export.ProbeWritable(o.Path); err != nil {
			return usage.Errorf("cannot write %s (%v): give %s a file in a writable directory", o.Path, err, o.Flag)
		}
	}
	return nil
}

// OutputFile names a file a plugin writes, for the check before tracing.
type OutputFile struct {
	Flag string // the flag that named it, for the message ("--trace")
	Path string
}

// Outputter is a Plugin that writes files of its own.
type Outputter interface {
	Outputs() []OutputFile
}

// streamFile is an output written while tracing runs: a new temporary file
// beside its path, created by tracer (never a link or a file an untrusted
// user placed there), mode 0644 and owned by the session's user, renamed
// into place by Commit, so the path holds the whole file or nothing.
type streamFile struct {
	*os.File
	path string
}

// createStream starts the output file path; cred (may be nil) is the user
// who gets it.
func createStream(path string, cred *loader.Credential) (*streamFile, error) {
	f, err := export.CreateTemp(path)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	err = f.Chmod(0o644)
	if err == nil && cred != nil {
		err = f.Chown(int(cred.UID), int(cred.GID))
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &streamFile{File: f, path: path}, nil
}

// Commit closes the file and renames it to its path; on failure the
// temporary file is removed.
func (s *streamFile) Commit() error {
	tmp := s.Name()
	err := s.File.Close()
	var old *os.File
	if err == nil {
		old = holdReplaced(s.path)
		err = os.Rename(tmp, s.path)
	}
	if old != nil {
		loader.ReleaseFiles([]*os.File{old})
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	return nil
}

// releaseBytes is the size from which a file that an output replaces is
// freed by loader.ReleaseFiles: freeing a file's blocks takes the file
// system about 0.4 ms per MiB here, which the rename would otherwise do
// while tracer waits; starting the helper costs a few milliseconds.
const releaseBytes = 16 << 20

// holdReplaced returns a reference (O_PATH, not following a link) to the
// regular file at path when it is at least releaseBytes long, or nil.
func holdReplaced(path string) *os.File {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size < releaseBytes {
		unix.Close(fd)
		return nil
	}
	return os.NewFile(uintptr(fd), path)
}
