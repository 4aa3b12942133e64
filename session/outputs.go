package session

import (
	"errors"
	"os"
	"path/filepath"
)

// checkOutputs makes sure every output file can be created before tracing
// starts, so that a mistyped -o costs a second, not a whole run. The files
// themselves are written at the end, whole or not at all (export.WriteFile).
func (c *Config) checkOutputs() error {
	for _, o := range []struct{ flag, path string }{{"-o", c.Output}, {"--folded", c.Folded}} {
		if o.path == "" || o.path == "-" {
			continue
		}
		if err := probeWritable(o.path); err != nil {
			return usagef("cannot write %s (%v): give %s a file in a writable directory", o.path, err, o.flag)
		}
	}
	return nil
}

// probeWritable creates and removes a temporary file beside path, as the
// final write will.
func probeWritable(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return errors.New("it is a directory")
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}
