package symbolize

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Mapping is one executable region of a process's address space.
type Mapping struct {
	Start, Limit uint64 // [Start, Limit) in the process
	Offset       uint64 // file offset mapped at Start
	Path         string // as the kernel names it ("/usr/lib/…", "[vdso]", "//anon", "")
	BuildID      string // hex GNU build ID of the file, filled in when known
	Inode        uint64 // inode of the file, 0 for anonymous memory
}

// fileBacked reports whether the mapping names a file on disk.
func (m Mapping) fileBacked() bool {
	return strings.HasPrefix(m.Path, "/") && !strings.HasPrefix(m.Path, "//anon")
}

// deletedSuffix is what the kernel appends to the path of an unlinked file.
const deletedSuffix = " (deleted)"

// parseProcMaps reads the executable mappings of a /proc/PID/maps file.
// Lines that are not executable are skipped; malformed lines are an error.
func parseProcMaps(r io.Reader) ([]Mapping, error) {
	var out []Mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, exec, err := parseMapsLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if exec {
			out = append(out, m)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read maps: %w", err)
	}
	return out, nil
}

// parseMapsLine parses "start-end perms offset dev inode [path]".
func parseMapsLine(line string) (m Mapping, exec bool, err error) {
	rest := line
	field := func() string {
		rest = strings.TrimLeft(rest, " \t")
		i := strings.IndexAny(rest, " \t")
		if i < 0 {
			f := rest
			rest = ""
			return f
		}
		f := rest[:i]
		rest = rest[i:]
		return f
	}
	rng, perms, off, _, ino := field(), field(), field(), field(), field()
	start, limit, ok := strings.Cut(rng, "-")
	if !ok || ino == "" {
		return m, false, fmt.Errorf("malformed maps line %q", line)
	}
	if m.Start, err = strconv.ParseUint(start, 16, 64); err != nil {
		return m, false, fmt.Errorf("bad start in %q", line)
	}
	if m.Limit, err = strconv.ParseUint(limit, 16, 64); err != nil {
		return m, false, fmt.Errorf("bad end in %q", line)
	}
	if m.Offset, err = strconv.ParseUint(off, 16, 64); err != nil {
		return m, false, fmt.Errorf("bad offset in %q", line)
	}
	if m.Inode, err = strconv.ParseUint(ino, 10, 64); err != nil {
		return m, false, fmt.Errorf("bad inode in %q", line)
	}
	if m.Limit < m.Start {
		return m, false, fmt.Errorf("end before start in %q", line)
	}
	m.Path = strings.TrimLeft(rest, " \t")
	return m, len(perms) >= 3 && perms[2] == 'x', nil
}
