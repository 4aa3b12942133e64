package cpython

import (
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/tracer-dev/tracer/internal/cachedir"
	"github.com/tracer-dev/tracer/symbolize"
)

// The layouts read from an interpreter's DWARF are kept on disk by the
// file's build ID, so that a later session skips the DWARF (about 10 MiB of
// allocations and tens of milliseconds for libpython 3.11 built with -g).
// The cache is LayoutCacheDir: one small JSON file per interpreter build;
// removing the directory (tracer cache clear) only costs the next session
// the DWARF read. A file with no build ID is never cached, and an entry
// that does not read back as a valid layout of that version is ignored.

// LayoutCacheDir is the directory of the layout cache:
// $XDG_CACHE_HOME/tracer/python-layouts, by default
// ~/.cache/tracer/python-layouts. "" when the user has no cache directory.
func LayoutCacheDir() string { return cachedir.Dir(cachedir.PythonLayouts) }

// maxCacheEntry bounds what is read of one cache file.
const maxCacheEntry = 64 << 10

// cachedDWARFOffsets is dwarfOffsets through the layout cache.
func cachedDWARFOffsets(f *elf.File, ra io.ReaderAt, minor int) (Layout, error) {
	dir, id := LayoutCacheDir(), symbolize.BuildID(f)
	if dir == "" || id == "" {
		return dwarfOffsets(f, ra, minor)
	}
	path := filepath.Join(dir, id+"-3."+strconv.Itoa(minor)+".json")
	if o, ok := readCachedLayout(path, minor); ok {
		return o, nil
	}
	o, err := dwarfOffsets(f, ra, minor)
	if err == nil {
		writeCachedLayout(dir, path, o) // failing to cache only costs the next session the read
	}
	return o, err
}

func readCachedLayout(path string, minor int) (Layout, bool) {
	fh, err := os.Open(path)
	if err != nil {
		return Layout{}, false
	}
	defer fh.Close()
	var o Layout
	if err := json.NewDecoder(io.LimitReader(fh, maxCacheEntry)).Decode(&o); err != nil {
		return Layout{}, false
	}
	if o.Major != 3 || o.Minor != minor || o.Chain != layoutFor(minor) || o.validate() != nil {
		return Layout{}, false
	}
	return o, true
}

func writeCachedLayout(dir, path string, o Layout) {
	b, err := json.Marshal(o)
	if err != nil {
		return
	}
	cachedir.WriteFile(dir, filepath.Base(path), append(b, '\n'))
}
