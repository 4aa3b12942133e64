package symbolize

import (
	"golang.org/x/sys/unix"

	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// DefaultPerfMapDir is where JIT compilers write perf map files.
const DefaultPerfMapDir = "/tmp"

// maxPerfMapBytes bounds what is read of one perf map (a JIT writes a few MB
// in a long run); lines beyond it are not read.
const maxPerfMapBytes = 256 << 20

// jitModule is the Module of frames named by a perf map.
const jitModule = "[jit]"

// perfMapEntry is one line of a perf map: code at [start, start+size).
type perfMapEntry struct {
	start, size uint64
	seq         int    // line order; a later line wins where code was reused
	seen        uint64 // CLOCK_MONOTONIC ns of the read that found the line
	name        string
}

// perfMap is the part of one process's perf map file read so far. The file
// only grows while the process runs; it is re-read from where the last read
// stopped when it has grown.
type perfMap struct {
	path     string
	entries  []perfMapEntry // sorted by start
	consumed int64          // bytes of complete lines read
	seen     int64          // bytes looked at: a partial line after consumed is not read again until the file grows
	read     int64          // bytes read in all (for tests)
	maxSize  uint64         // largest entry size, bounds the backward scan
	lines    int
	reads    []uint64 // CLOCK_MONOTONIC ns of the reads that found lines, in order
}

// maxPerfMapLine bounds one line of a perf map: a partial line longer than
// this is skipped, not kept to be read again.
const maxPerfMapLine = 64 << 10

// perfMapPath is the file a process pid writes its JIT symbols to.
func perfMapPath(dir string, pid int) string {
	return filepath.Join(dir, fmt.Sprintf("perf-%d.map", pid))
}

// refresh reads what was appended to the file since the last read. It
// reports whether new entries arrived. A missing file is not an error.
//
// The file lies in a directory every user may write and tracer reads it as
// root, so it is opened without following a link and without blocking (a
// FIFO), must be a regular file with one link, and is read up to
// maxPerfMapBytes only.
func (m *perfMap) refresh() (bool, error) {
	f, err := os.OpenFile(m.path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if os.IsNotExist(err) {
			return false, nil
		}
		return false, fmt.Errorf("open perf map: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("stat perf map: %w", err)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); !st.Mode().IsRegular() || (ok && sys.Nlink != 1) {
		return false, fmt.Errorf("perf map %s is not a plain file: ignored", m.path)
	}
	size := min(st.Size(), maxPerfMapBytes)
	if size < m.consumed { // a new file under the same name
		*m = perfMap{path: m.path}
	}
	if size <= m.seen {
		return false, nil
	}
	// Only the bytes not looked at yet are scanned, a chunk at a time, for
	// the end of the last whole line; a partial line is read again only
	// once it has ended, and only when it is short.
	from := max(m.seen, m.consumed)
	first, last, err := m.scanNewlines(f, from, size)
	if err != nil {
		return false, err
	}
	m.seen = size
	if last < 0 {
		return false, nil // only a partial line so far
	}
	start := m.consumed
	if first-m.consumed > maxPerfMapLine {
		// The partial line was too long to be an entry: skip it.
		m.lines++
		start = first + 1
	}
	end := last + 1
	data := make([]byte, end-start)
	n, err := f.ReadAt(data, start)
	m.read += int64(n)
	if err != nil && err != io.EOF {
		return false, fmt.Errorf("read perf map: %w", err)
	}
	m.consumed = end
	added := m.add(data[:n], monotonicNow())
	return added > 0, nil
}

// scanNewlines returns the offsets of the first and the last newline in
// [from, to) of f (-1 when there is none), reading a chunk at a time.
func (m *perfMap) scanNewlines(f *os.File, from, to int64) (first, last int64, err error) {
	first, last = -1, -1
	buf := make([]byte, min(to-from, 1<<20))
	for off := from; off < to; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), to-off)], off)
		m.read += int64(n)
		if n == 0 {
			if err != nil && err != io.EOF {
				return -1, -1, fmt.Errorf("read perf map: %w", err)
			}
			break
		}
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 && first < 0 {
			first = off + int64(i)
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			last = off + int64(i)
		}
		off += int64(n)
	}
	return first, last, nil
}

// add parses complete lines read at time now and merges their entries into
// the sorted list.
func (m *perfMap) add(data []byte, now uint64) int {
	fresh := parsePerfMap(data, m.lines)
	m.lines += bytes.Count(data, []byte{'\n'})
	if len(fresh) == 0 {
		return 0
	}
	for i := range fresh {
		fresh[i].seen = now
		m.maxSize = max(m.maxSize, fresh[i].size)
	}
	m.reads = append(m.reads, now)
	sort.SliceStable(fresh, func(i, j int) bool { return fresh[i].start < fresh[j].start })
	m.entries = mergeEntries(m.entries, fresh)
	return len(fresh)
}

// mergeEntries merges two lists sorted by start.
func mergeEntries(a, b []perfMapEntry) []perfMapEntry {
	if len(a) == 0 {
		return b
	}
	out := make([]perfMapEntry, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if b[0].start < a[0].start {
			out = append(out, b[0])
			b = b[1:]
		} else {
			out = append(out, a[0])
			a = a[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}

// maxPerfMapScan bounds the backward scan for overlapping entries.
const maxPerfMapScan = 64

// lookup returns the entry covering addr; where entries overlap, the one
// written last.
func (m *perfMap) lookup(addr uint64) (perfMapEntry, bool) {
	return m.lookupAt(addr, ^uint64(0))
}

// lookupAt returns the entry that named the code at addr at time t
// (CLOCK_MONOTONIC ns): a line applies to samples taken after it was
// written, until a later line replaces it. The file carries no times, so a
// line's time is bounded by the read that found it: of the lines covering
// addr, the last one found by the first read at or after t (the map as it
// stood then); lines found later were written after the sample.
func (m *perfMap) lookupAt(addr, t uint64) (perfMapEntry, bool) {
	limit := ^uint64(0)
	if i := sort.Search(len(m.reads), func(i int) bool { return m.reads[i] >= t }); i < len(m.reads) {
		limit = m.reads[i]
	}
	es := m.entries
	i := sort.Search(len(es), func(i int) bool { return es[i].start > addr }) - 1
	var best perfMapEntry
	found := false
	for j := i; j >= 0 && i-j < maxPerfMapScan; j-- {
		e := es[j]
		if addr-e.start >= m.maxSize {
			break
		}
		if addr-e.start < e.size && e.seen <= limit && (!found || e.seq > best.seq) {
			best, found = e, true
		}
	}
	return best, found
}

// monotonicNow is CLOCK_MONOTONIC in ns, the clock of the samples.
func monotonicNow() uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return uint64(ts.Nano())
}

// parsePerfMap parses lines "START SIZE name" (hex numbers, optional 0x).
// Malformed lines are skipped. firstSeq numbers the first line.
func parsePerfMap(data []byte, firstSeq int) []perfMapEntry {
	var out []perfMapEntry
	seq := firstSeq
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		seq++
		e, ok := parsePerfMapLine(string(bytes.TrimRight(line, "\r")))
		if !ok {
			continue
		}
		e.seq = seq
		out = append(out, e)
	}
	return out
}

// parsePerfMapLine parses one perf map line.
func parsePerfMapLine(line string) (perfMapEntry, bool) {
	startS, rest, ok := strings.Cut(strings.TrimLeft(line, " \t"), " ")
	if !ok {
		return perfMapEntry{}, false
	}
	sizeS, name, ok := strings.Cut(strings.TrimLeft(rest, " \t"), " ")
	if !ok {
		return perfMapEntry{}, false
	}
	start, err1 := parseHex(startS)
	size, err2 := parseHex(sizeS)
	name = strings.TrimSpace(name)
	if err1 != nil || err2 != nil || name == "" || size == 0 || start+size < start {
		return perfMapEntry{}, false
	}
	return perfMapEntry{start: start, size: size, name: name}, true
}

// parseHex parses a hex number with or without 0x.
func parseHex(s string) (uint64, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	return strconv.ParseUint(s, 16, 64)
}
