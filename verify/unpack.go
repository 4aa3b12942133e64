package verify

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tracer-dev/tracer/examples"
	"github.com/tracer-dev/tracer/probe"
)

// unpack writes the embedded containers to dir/examples and the bindings to
// dir/probe, the layout the containers expect. Directories are 0755 and files
// 0644 so that a command run as the sudo user can read them.
func unpack(dir string) error {
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	for _, src := range []struct {
		fsys fs.FS
		sub  string
	}{{examples.Files, "examples"}, {probe.Files, "probe"}} {
		err := fs.WalkDir(src.fsys, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			dst := filepath.Join(dir, src.sub, path)
			if d.IsDir() {
				return os.MkdirAll(dst, 0o755)
			}
			b, err := fs.ReadFile(src.fsys, path)
			if err != nil {
				return err
			}
			return os.WriteFile(dst, b, 0o644)
		})
		if err != nil {
			return fmt.Errorf("unpack %s: %w", src.sub, err)
		}
	}
	return nil
}
