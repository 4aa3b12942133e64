package symbolize

import (
	"cmp"
	"debug/dwarf"
	"debug/elf"
	"errors"
	"io"
	"math"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
)

// lineTable maps code addresses to source lines from DWARF .debug_line.
// Compilation units are found by their address ranges; a unit's rows are
// decoded the first time one of its addresses is asked for.
type lineTable struct {
	d     *dwarf.Data
	units []*dwarf.Entry
	// With the per-unit path, d and units are nil: secs holds the sections
	// (and keeps their mapping), and unitOffs the offset in .debug_info of
	// each unit .debug_aranges names.
	secs     *dwarfSections
	unitOffs []uint64
	// With the line-program path (programLineTable), "units" are line
	// programs, each at progOffs[unit] in .debug_line.
	progOffs []uint64
	heads    [][]byte          // by unit, when .debug_info is compressed (unitHeads)
	cus      []cuRange         // sorted by lo
	rows     map[int]*unitRows // unit index → its decoded rows
	cache    *rowCache         // rows kept between sessions, or nil
}

// cuRange is one address range of a compilation unit.
type cuRange struct {
	lo, hi uint64
	unit   int
}

// unitRows are the rows of one unit's line program, sorted by address.
type unitRows struct {
	files []string // the unit's file names, by lineRow.file
	rows  []lineRow
}

// lineRow is one row of a line program, in 16 bytes (a unit such as
// CPython's ceval.c has tens of thousands). line is endLine at the address
// after a sequence, where no line applies, and 0 where the program gives
// none.
type lineRow struct {
	addr uint64
	file uint32
	line int32
}

// endLine marks the row that ends a sequence.
const endLine = -1

// maxLineRows bounds the rows decoded for one compilation unit.
const maxLineRows = 1 << 22

// readLineTable reads the unit ranges of the DWARF in ra; nil when the file
// has no usable DWARF.
func readLineTable(ra io.ReaderAt) (lt *lineTable) {
	defer func() {
		if recover() != nil { // corrupt DWARF must not take the tracer down
			lt = nil
		}
	}()
	// The sections may be mapped from the file (mappedDWARF): a file cut
	// short under us faults, and the fault must be a panic recovered above.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	f, err := elf.NewFile(ra)
	if err != nil || f.Section(".debug_info") == nil || f.Section(".debug_line") == nil {
		return nil
	}
	lt, kind := lineTableOf(f, ra)
	if lt != nil {
		lt.cache = openRowCache(f, kind, lt.unitCount())
	}
	return lt
}

// lineTableOf reads the unit ranges of the DWARF of f, whose contents are
// ra, by the first of the three paths that can: the line programs alone
// (programLineTable, through its cache), .debug_aranges (perUnitLineTable)
// or the units' entries. kind names the path.
func lineTableOf(f *elf.File, ra io.ReaderAt) (lt *lineTable, kind string) {
	if lt := cachedProgramLineTable(f); lt != nil {
		return lt, "program"
	}
	secs, ok := mappedSections(f, ra)
	if ok {
		if lt := perUnitLineTable(secs); lt != nil {
			return lt, "unit"
		}
	}
	var d *dwarf.Data
	if ok {
		var info []byte
		if info, ok = secs.fullInfo(); ok {
			d, ok = secs.data(info)
		}
	}
	if !ok {
		var err error
		if d, err = f.DWARF(); err != nil {
			return nil, ""
		}
	}
	lt = &lineTable{d: d, secs: secs, rows: map[int]*unitRows{}}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			break
		}
		if e.Tag == dwarf.TagCompileUnit {
			ranges, err := d.Ranges(e)
			if err == nil {
				idx := len(lt.units)
				lt.units = append(lt.units, e)
				for _, rg := range ranges {
					if rg[1] > rg[0] {
						lt.cus = append(lt.cus, cuRange{lo: rg[0], hi: rg[1], unit: idx})
					}
				}
			}
		}
		r.SkipChildren()
	}
	if len(lt.cus) == 0 {
		return nil, ""
	}
	sort.Slice(lt.cus, func(i, j int) bool { return lt.cus[i].lo < lt.cus[j].lo })
	return lt, "entries"
}

// unitCount is the number of units (or line programs) of lt.
func (lt *lineTable) unitCount() int {
	switch {
	case lt.d != nil:
		return len(lt.units)
	case lt.progOffs != nil:
		return len(lt.progOffs)
	}
	return len(lt.unitOffs)
}

// close releases what lt holds open beyond its object's file.
func (lt *lineTable) close() { lt.cache.close() }

// lookup returns the source file and line of pc.
func (lt *lineTable) lookup(pc uint64) (file string, line int, ok bool) {
	defer func() {
		if recover() != nil {
			file, line, ok = "", 0, false
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true)) // see readLineTable
	i := sort.Search(len(lt.cus), func(i int) bool { return lt.cus[i].lo > pc }) - 1
	// Ranges of different units may nest or overlap; look back a little.
	for j := i; j >= 0 && i-j < 8; j-- {
		c := lt.cus[j]
		if pc < c.lo || pc >= c.hi {
			continue
		}
		if file, line, ok := lt.unitLookup(c.unit, pc); ok {
			return file, line, true
		}
	}
	return "", 0, false
}

// unitLookup finds pc in the rows of one unit, decoding them if needed.
func (lt *lineTable) unitLookup(unit int, pc uint64) (string, int, bool) {
	u, seen := lt.rows[unit]
	if !seen {
		if u = lt.cache.get(unit); u == nil {
			u = lt.decode(unit)
			lt.cache.add(unit, u)
		}
		lt.rows[unit] = u
	}
	rows := u.rows
	k := sort.Search(len(rows), func(k int) bool { return rows[k].addr > pc }) - 1
	if k < 0 || rows[k].line <= 0 {
		return "", 0, false
	}
	return u.files[rows[k].file], int(rows[k].line), true
}

// decode reads the line program of one unit into rows sorted by address.
func (lt *lineTable) decode(unit int) *unitRows {
	var lr *dwarf.LineReader
	var err error
	switch {
	case lt.d != nil:
		lr, err = lt.d.LineReader(lt.units[unit])
	case lt.progOffs != nil:
		lr, err = lt.secs.programLineReader(lt.progOffs[unit])
	default:
		var info []byte
		if lt.heads != nil {
			info = lt.heads[unit]
		} else {
			info = lt.secs.info[lt.unitOffs[unit]:]
		}
		lr, err = lt.secs.unitLineReader(info)
	}
	u := &unitRows{}
	if err != nil || lr == nil {
		return u
	}
	scratch := rowScratch.Get().(*[]lineRow)
	defer rowScratch.Put(scratch)
	rows := (*scratch)[:0]
	fileIndex := map[*dwarf.LineFile]uint32{}
	var lastFile *dwarf.LineFile // rows come in runs of one file
	var lastIndex uint32
	var le dwarf.LineEntry
	for len(rows) < maxLineRows {
		if err := lr.Next(&le); err != nil {
			if !errors.Is(err, io.EOF) {
				rows = rows[:0]
			}
			break
		}
		row := lineRow{addr: le.Address, line: int32(min(max(le.Line, 0), math.MaxInt32))}
		if le.EndSequence {
			row.line = endLine
		}
		if len(u.files) == 0 || le.File != lastFile {
			i, ok := fileIndex[le.File] // nil: a row without a file
			if !ok {
				i = uint32(len(u.files))
				fileIndex[le.File] = i
				name := ""
				if le.File != nil {
					name = le.File.Name
				}
				u.files = append(u.files, name)
			}
			lastFile, lastIndex = le.File, i
		}
		row.file = lastIndex
		rows = append(rows, row)
	}
	*scratch = rows
	// Sequences may come in any order; within one address the last row wins,
	// except that an end marker never hides the start of the next sequence.
	byAddr := func(a, b lineRow) int { return cmp.Compare(a.addr, b.addr) }
	if !slices.IsSortedFunc(rows, byAddr) {
		slices.SortStableFunc(rows, byAddr)
	}
	out := rows[:0]
	for _, r := range rows {
		if n := len(out); n > 0 && out[n-1].addr == r.addr {
			if r.line == endLine && out[n-1].line != endLine {
				continue
			}
			out[n-1] = r
			continue
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return u
	}
	u.rows = slices.Clone(out) // the scratch goes back to the pool
	return u
}

// rowScratch holds the buffers units are decoded into: a unit's rows are
// copied out at their final length, and the buffer, grown to the largest
// unit decoded, serves the next unit.
var rowScratch = sync.Pool{New: func() any { return new([]lineRow) }}
