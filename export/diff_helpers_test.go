package export

import (
	"os"

	"github.com/google/pprof/profile"
)

func writeProfileFile(path string, p *profile.Profile) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := p.Write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }
