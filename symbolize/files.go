package symbolize

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"syscall"
)

// objectFor returns the parsed ELF object mapped by m, opening the file if
// it is not cached yet. It returns nil for anonymous memory and for files
// that cannot be read or are not ELF.
func (s *Symbolizer) objectFor(pid int, m Mapping) *object {
	if m.Path == "[vdso]" {
		return s.vdsoObject()
	}
	if !m.fileBacked() {
		return nil
	}
	path := strings.TrimSuffix(m.Path, deletedSuffix)
	key := fileKey{path: path, inode: m.Inode}
	if o, ok := s.files[key]; ok {
		return o
	}
	o := s.openMapped(pid, m, path)
	if o != nil && o.buildID != "" {
		if known := s.byBuildID[o.buildID]; known != nil {
			_ = o.close()
			o = known
		} else {
			s.byBuildID[o.buildID] = o
			s.attachDebugFile(o)
		}
	}
	s.files[key] = o
	return o
}

// openMapped opens the file behind a mapping. The path is used when it
// still names the same file (same inode); otherwise, while the process
// lives, /proc/PID/map_files gives the file that is really mapped, even
// when it has been deleted or replaced. A failure is noted once per file.
func (s *Symbolizer) openMapped(pid int, m Mapping, path string) *object {
	deleted := strings.HasSuffix(m.Path, deletedSuffix)
	var first error
	if !deleted {
		o, err := openFile(path, m.Inode)
		if o != nil {
			return o
		}
		first = err
	}
	mf := fmt.Sprintf("%s/%d/map_files/%x-%x", s.procRoot, pid, m.Start, m.Limit)
	o, err := openFile(mf, m.Inode)
	if o != nil {
		o.path = path
		return o
	}
	if first == nil || errors.Is(first, errReplaced) {
		first = err
	}
	if first != nil && !errors.Is(first, errNotRegular) {
		s.warn(path, first)
	}
	return nil
}

var (
	errReplaced   = errors.New("the file was replaced since it was mapped and the process has exited")
	errNotRegular = errors.New("not a regular file")
)

// openFile opens an ELF file and checks its inode when one is given. The
// path comes from the traced process's mappings and may since have been
// replaced by anything: it is opened without blocking (a FIFO) and must be a
// regular file.
func openFile(path string, inode uint64) (*object, error) {
	flags := os.O_RDONLY | syscall.O_NONBLOCK
	if !strings.HasPrefix(path, "/proc/") {
		// A mapping's path names the file itself: a link there was put
		// by the program since (/proc's magic links are followed).
		flags |= syscall.O_NOFOLLOW
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, errNotRegular
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && inode != 0 && sys.Ino != inode {
		f.Close()
		return nil, errReplaced
	}
	o, err := openObject(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	o.closer = f
	return o, nil
}

// warn notes, once per subject, why something could not be symbolized.
func (s *Symbolizer) warn(subject string, err error) {
	if _, seen := s.warnings[subject]; !seen {
		s.warnings[subject] = fmt.Sprintf("no symbols for %s: %v", subject, err)
	}
}

// Warnings lists, one line each and sorted, the files whose symbols could
// not be read (and kallsyms, if it could not be read), so that a profile
// with unnamed frames says why.
func (s *Symbolizer) Warnings() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.warnings))
	for _, w := range s.warnings {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// vdsoObject reads the vDSO image of this process. Every process on the
// machine maps the same image, so it names the vDSO frames of any target.
func (s *Symbolizer) vdsoObject() *object {
	if s.vdsoRead {
		return s.vdso
	}
	s.vdsoRead = true
	data, err := readSelfVDSO()
	if err != nil {
		return nil
	}
	o, err := openObject(bytes.NewReader(data), "[vdso]")
	if err != nil {
		return nil
	}
	s.vdso = o
	return o
}

// readSelfVDSO copies [vdso] out of /proc/self/mem.
func readSelfVDSO() ([]byte, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, fmt.Errorf("open maps: %w", err)
	}
	maps, err := parseProcMaps(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	for _, m := range maps {
		if m.Path != "[vdso]" || m.Limit-m.Start > 1<<20 {
			continue
		}
		mem, err := os.Open("/proc/self/mem")
		if err != nil {
			return nil, fmt.Errorf("open mem: %w", err)
		}
		defer mem.Close()
		data := make([]byte, m.Limit-m.Start)
		if _, err := mem.ReadAt(data, int64(m.Start)); err != nil {
			return nil, fmt.Errorf("read vdso: %w", err)
		}
		return data, nil
	}
	return nil, fmt.Errorf("no [vdso] mapping")
}
