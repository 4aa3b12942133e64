package loader

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// OpenELF opens an ELF file whose path came from a traced process (its
// mappings), which may since have put anything under that name: the file is
// opened without blocking (a FIFO would wait for a writer forever) and must
// be a regular file. The caller calls done when finished with the ELF file.
func OpenELF(path string) (ef *elf.File, done func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w", path, errNotRegular)
	}
	if err == nil {
		ef, err = elf.NewFile(f)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return ef, f.Close, nil
}

var errNotRegular = errors.New("not a regular file")
