// Package cachedir owns the directory where tracer keeps what it reads
// once and reuses in later sessions (CPython layouts, kernel symbols, the
// symbol and line tables of ELF files): $XDG_CACHE_HOME/tracer, by default ~/.cache/tracer, one
// subdirectory per kind (Kinds). Everything in it may be removed at any time; readers treat a
// missing, stale or unreadable entry as absent.
package cachedir

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Root is tracer's cache directory, "" when the user has none.
func Root() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "tracer")
}

// The kinds of entry tracer keeps, each in its subdirectory of Root.
const (
	PythonLayouts = "python-layouts" // CPython frame layouts, by build ID
	KernelSymbols = "kernel-symbols" // the kernel's text symbols, by boot
	DebugLines    = "debug-lines"    // symbol and line tables, by build ID
)

// KeepUnused is how long an entry of a kind that grows one file per build
// (DebugLines) is kept without being used: Prune removes older ones.
const KeepUnused = 30 * 24 * time.Hour

// Kinds are all the kinds, what Clear removes.
var Kinds = []string{PythonLayouts, KernelSymbols, DebugLines}

// Dir is the subdirectory kind of Root, "" when the user has no cache
// directory.
func Dir(kind string) string {
	root := Root()
	if root == "" {
		return ""
	}
	return filepath.Join(root, kind)
}

// Clear removes the entries of every kind, leaving whatever else is in
// Root (tools that other programs keep there).
func Clear() error {
	if Root() == "" {
		return nil
	}
	for _, k := range Kinds {
		if err := os.RemoveAll(Dir(k)); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile replaces dir/name with data atomically: a reader sees the old
// file or the new one, never part of it. The directory is created (0700)
// if needed and the file is readable by its owner only (0600), since an
// entry may hold kernel addresses.
func WriteFile(dir, name string, data []byte) error {
	return WriteWith(dir, name, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteWith is WriteFile with the contents written by write, through a
// buffer, so that a large entry need not be held whole in memory.
func WriteWith(dir, name string, write func(io.Writer) error) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+name+"-*")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(tmp, 64<<10)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// BootID is the running kernel's boot ID (/proc/sys/kernel/random/boot_id),
// which keys entries valid for one boot; "" when it cannot be read.
func BootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Touch marks the entry at path, last modified at mtime, as used now: its
// modification time is set to now, at most once a day, so that reading an
// entry costs a write only the first time in a day.
func Touch(path string, mtime time.Time) {
	if now := time.Now(); now.Sub(mtime) > 24*time.Hour {
		_ = os.Chtimes(path, now, now) // failing only makes the entry look older
	}
}

// Prune removes the files of dir not modified (nor touched) for
// KeepUnused, temporary files of interrupted writes included. Writers of a
// kind that grows one file per build call it when they write a new entry.
func Prune(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	old := time.Now().Add(-KeepUnused)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(old) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// errNotOwn is an entry that is not a regular file of this user, or that
// others may write.
var errNotOwn = errors.New("not a regular file of this user, writable by it only")

// Open opens the entry at path (os.O_RDONLY, or os.O_RDWR and other
// flags), with its status, when it is a regular file of this user that no
// one else may write: an entry names code, and only the user's own is
// trusted to. A link is not followed.
func Open(path string, flag int) (*os.File, *syscall.Stat_t, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, nil, err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Uid != uint32(os.Geteuid()) || st.Mode&0o022 != 0 {
		f.Close()
		return nil, nil, errNotOwn
	}
	return f, &st, nil
}

// ModTime is the modification time in st.
func ModTime(st *syscall.Stat_t) time.Time { return time.Unix(st.Mtim.Unix()) }
