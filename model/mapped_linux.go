package model

import (
	"os"
	"syscall"
)

const mappable = true

// mapFile maps the first size bytes of f read-only.
func mapFile(f *os.File, size int) (*mapping, error) {
	b, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	_ = syscall.Madvise(b, syscall.MADV_SEQUENTIAL)
	return &mapping{
		data:  b,
		unmap: func() { _ = syscall.Munmap(b) },
		// The pages stay in the page cache; they leave the process.
		release: func(p []byte) { _ = syscall.Madvise(p, syscall.MADV_DONTNEED) },
	}, nil
}
