package symbolize

import (
	"os"
	"path/filepath"
)

// DefaultDebugDir is where Debian's -dbg packages install separate debug
// files, named by build ID.
const DefaultDebugDir = "/usr/lib/debug"

// attachDebugFile looks for the separate debug file of o
// (DIR/.build-id/ab/cdef….debug) and, when found, reads symbols and DWARF
// from it as well: it names the static functions a stripped file lost.
func (s *Symbolizer) attachDebugFile(o *object) {
	if len(o.buildID) < 3 {
		return
	}
	for _, dir := range s.debugDirs {
		path := filepath.Join(dir, ".build-id", o.buildID[:2], o.buildID[2:]+".debug")
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		d, err := openObject(f, path)
		if err != nil || d.buildID != o.buildID {
			f.Close()
			continue
		}
		d.closer = f
		o.debug = d
		return
	}
}

// mergeSymbols joins two address-sorted symbol lists; where both have a
// symbol at one address, a's is kept.
func mergeSymbols(a, b []symbol) []symbol {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make([]symbol, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || (len(a) > 0 && a[0].addr < b[0].addr):
			out = append(out, a[0])
			a = a[1:]
		case len(a) == 0 || b[0].addr < a[0].addr:
			out = append(out, b[0])
			b = b[1:]
		default: // same address
			out = append(out, a[0])
			a, b = a[1:], b[1:]
		}
	}
	return out
}
