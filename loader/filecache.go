package loader

import (
	"fmt"
	"os"
	"sync"
)

// FileCache keeps what was read from a file (an interpreter's layout),
// by path, size and modification time: a file replaced in place is read
// again. Safe for concurrent use; a file is read once at a time.
type FileCache[T any] struct {
	mu sync.Mutex
	m  map[string]fileRead[T]
}

type fileRead[T any] struct {
	v   T
	err error
}

// Get returns what read gave for the file at path, reading it the first
// time. An error of os.Stat is returned wrapped with what.
func (c *FileCache[T]) Get(path, what string, read func(path string) (T, error)) (T, error) {
	st, err := os.Stat(path)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	key := fmt.Sprintf("%s|%d|%d", path, st.Size(), st.ModTime().UnixNano())
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.m[key]; ok {
		return r.v, r.err
	}
	v, err := read(path)
	if c.m == nil {
		c.m = map[string]fileRead[T]{}
	}
	c.m[key] = fileRead[T]{v, err}
	return v, err
}
