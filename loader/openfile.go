package loader

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// OpenELF opens an ELF file whose path came from a traced process (its
// mappings), which may since have put anything under that name: the file is
// opened without blocking (a FIFO would wait for a writer forever) and must
// be a regular file. The caller calls done when finished with the ELF file.
func OpenELF(path string) (ef *elf.File, done func() error, err error) {
	ef, f, err := OpenELFFile(path)
	if err != nil {
		return nil, nil, err
	}
	return ef, f.Close, nil
}

// OpenELFFile is OpenELF that also returns the open file, for reading its
// sections in place (symbolize.MappedDWARF); the caller closes it.
func OpenELFFile(path string) (ef *elf.File, f *os.File, err error) {
	flags := os.O_RDONLY | syscall.O_NONBLOCK
	if !strings.HasPrefix(path, "/proc/") {
		// A mapping's path names the file itself: a link there was put
		// by the program since (/proc's magic links are followed).
		flags |= syscall.O_NOFOLLOW
	}
	f, err = os.OpenFile(path, flags, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	if err == nil {
		ef, err = elf.NewFile(f)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return ef, f, nil
}

// ErrNotRegular: a file a traced program names is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// OpenProgramFile opens a file whose name a traced program controls: read
// only, without blocking (a FIFO would wait for a writer forever), without
// following a final symbolic link unless follow, and only when it is a
// regular file.
func OpenProgramFile(path string, follow bool) (*os.File, error) {
	flags := os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_CLOEXEC
	if !follow {
		flags |= syscall.O_NOFOLLOW
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// FileID returns the device and inode of an open file.
func FileID(f *os.File) (dev, ino uint64, err error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return 0, 0, err
	}
	return uint64(st.Dev), st.Ino, nil
}
