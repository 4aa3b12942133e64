package cpython

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/tracer-dev/tracer/symbolize"
)

// errNoDWARF says an interpreter file carries no debug information.
var errNoDWARF = errors.New("no DWARF debug information")

// dwarfTypes finds struct layouts in a file's DWARF by type name.
type dwarfTypes struct {
	d     *dwarf.Data
	names map[string][]dwarf.Offset // typedef or struct name → entries
	// release unmaps the file the DWARF is read from; nil when it was read
	// onto the heap. d must not be used after it.
	release func()
}

// loadDWARFTypes indexes the top-level named types of an ELF file's DWARF.
// done, when set, is asked now and then (after 1, 2, 4, 8… compile units)
// whether what was indexed so far is enough; a libpython's DWARF is large,
// and the types it needs appear in its first units.
func loadDWARFTypes(f *elf.File, ra io.ReaderAt, done func(*dwarfTypes) bool) (*dwarfTypes, error) {
	if f.Section(".debug_info") == nil {
		return nil, errNoDWARF
	}
	t := &dwarfTypes{names: map[string][]dwarf.Offset{}}
	// In place when it can be: f.DWARF copies every debug section (tens
	// of MiB for a Python built with -g) onto the heap.
	d, release, ok := symbolize.MappedDWARF(f, ra)
	if ok {
		t.release = release
	} else {
		var err error
		if d, err = f.DWARF(); err != nil {
			return nil, fmt.Errorf("read dwarf: %w", err)
		}
	}
	t.d = d
	r := d.Reader()
	units, next := 0, 1
	for {
		e, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("read dwarf: %w", err)
		}
		if e == nil {
			break
		}
		switch e.Tag {
		case dwarf.TagCompileUnit:
			if units++; done != nil && units > next {
				next *= 2
				if done(t) {
					return t, nil
				}
			}
			continue // look at its children
		case dwarf.TagTypedef, dwarf.TagStructType:
			name, _ := e.Val(dwarf.AttrName).(string)
			if name != "" {
				// A public header's typedef may name an opaque struct
				// in one unit and the complete one in another: keep a
				// few candidates and use the first complete one.
				if len(t.names[name]) < maxTypeCandidates && !isDeclaration(e) {
					t.names[name] = append(t.names[name], e.Offset)
				}
			}
		}
		if e.Children {
			r.SkipChildren()
		}
	}
	return t, nil
}

func isDeclaration(e *dwarf.Entry) bool {
	decl, _ := e.Val(dwarf.AttrDeclaration).(bool)
	return decl
}

// maxTypeCandidates bounds the entries kept per type name.
const maxTypeCandidates = 8

// offset returns the byte offset of a member path ("interpreters.head") in
// the named type (a typedef or struct name).
func (t *dwarfTypes) offset(typeName, path string) (uint32, error) {
	offs, ok := t.names[typeName]
	if !ok {
		return 0, fmt.Errorf("type %s not in dwarf", typeName)
	}
	var lastErr error
	for _, off := range offs {
		typ, err := t.d.Type(off)
		if err != nil {
			lastErr = fmt.Errorf("type %s: %w", typeName, err)
			continue
		}
		v, err := memberOffset(typ, typeName, path)
		if err == nil {
			return v, nil
		}
		lastErr = err
	}
	return 0, lastErr
}

func memberOffset(typ dwarf.Type, typeName, path string) (uint32, error) {
	total := int64(0)
	for _, member := range strings.Split(path, ".") {
		st, ok := underlyingStruct(typ)
		if !ok {
			return 0, fmt.Errorf("%s.%s: %s is not a struct", typeName, path, typ)
		}
		found := false
		for _, f := range st.Field {
			if f.Name == member {
				total += f.ByteOffset
				typ = f.Type
				found = true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("%s has no member %s", typeName, path)
		}
	}
	return uint32(total), nil
}

// size returns the byte size of the named type.
func (t *dwarfTypes) size(typeName string) (uint32, error) {
	for _, off := range t.names[typeName] {
		typ, err := t.d.Type(off)
		if err == nil && typ.Size() > 0 {
			return uint32(typ.Size()), nil
		}
	}
	return 0, fmt.Errorf("type %s not in dwarf", typeName)
}

func underlyingStruct(t dwarf.Type) (*dwarf.StructType, bool) {
	for {
		switch v := t.(type) {
		case *dwarf.TypedefType:
			t = v.Type
		case *dwarf.QualType:
			t = v.Type
		case *dwarf.StructType:
			return v, true
		default:
			return nil, false
		}
	}
}

// dwarfOffsets reads the layout of a CPython 3.minor from its DWARF.
func dwarfOffsets(f *elf.File, ra io.ReaderAt, minor int) (_ Layout, err error) {
	// The sections may be mapped from the file (symbolize.MappedDWARF): a
	// file cut short under us faults, and corrupt DWARF may panic in
	// debug/dwarf; either is an error here, never a crash.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read dwarf: %v", r)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var found Layout
	var t *dwarfTypes
	defer func() {
		if t != nil && t.release != nil {
			t.release() // the layout is read: unmap the file now
		}
	}()
	t, err = loadDWARFTypes(f, ra, func(t *dwarfTypes) bool {
		o, err := t.pythonOffsets(minor)
		found = o
		return err == nil
	})
	if err != nil {
		return Layout{}, err
	}
	if found.Chain != 0 {
		return found, nil
	}
	return t.pythonOffsets(minor)
}

// pythonOffsets resolves the layout from the types indexed so far.
func (t *dwarfTypes) pythonOffsets(minor int) (Layout, error) {
	o := Layout{Major: 3, Minor: minor, Chain: layoutFor(minor)}
	var firstErr error
	get := func(dst *uint32, typeName, path string) {
		v, err := t.offset(typeName, path)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		*dst = v
	}
	get(&o.RuntimeInterpHead, "_PyRuntimeState", "interpreters.head")
	get(&o.InterpNext, "PyInterpreterState", "next")
	if minor <= 10 {
		get(&o.InterpThreadsHead, "PyInterpreterState", "tstate_head")
	} else {
		get(&o.InterpThreadsHead, "PyInterpreterState", "threads.head")
	}
	get(&o.TstateNext, "PyThreadState", "next")
	get(&o.TstateThreadID, "PyThreadState", "thread_id")
	switch o.Chain {
	case PyLayout310, PyLayout38:
		get(&o.TstateFrame, "PyThreadState", "frame")
		get(&o.FrameCode, "PyFrameObject", "f_code")
		get(&o.FramePrevious, "PyFrameObject", "f_back")
		get(&o.FrameInstr, "PyFrameObject", "f_lasti")
	case PyLayout311, PyLayout312:
		get(&o.TstateFrame, "PyThreadState", "cframe")
		get(&o.CFrameCurrentFrame, "_PyCFrame", "current_frame")
		get(&o.FrameCode, "_PyInterpreterFrame", "f_code")
		get(&o.FramePrevious, "_PyInterpreterFrame", "previous")
		get(&o.FrameInstr, "_PyInterpreterFrame", "prev_instr")
		if o.Chain == PyLayout311 {
			get(&o.FrameOwner, "_PyInterpreterFrame", "is_entry")
		} else {
			get(&o.FrameOwner, "_PyInterpreterFrame", "owner")
		}
	case PyLayout313:
		get(&o.TstateFrame, "PyThreadState", "current_frame")
		get(&o.FrameCode, "_PyInterpreterFrame", "f_executable")
		get(&o.FramePrevious, "_PyInterpreterFrame", "previous")
		get(&o.FrameInstr, "_PyInterpreterFrame", "instr_ptr")
		get(&o.FrameOwner, "_PyInterpreterFrame", "owner")
	}
	get(&o.CodeFilename, "PyCodeObject", "co_filename")
	get(&o.CodeName, "PyCodeObject", "co_name")
	if minor >= 11 {
		get(&o.CodeQualname, "PyCodeObject", "co_qualname")
		get(&o.CodeAdaptive, "PyCodeObject", "co_code_adaptive")
	}
	get(&o.CodeLinetable, "PyCodeObject", lineTableField(minor))
	get(&o.CodeFirstlineno, "PyCodeObject", "co_firstlineno")
	get(&o.UnicodeState, "PyASCIIObject", "state")
	get(&o.UnicodeLength, "PyASCIIObject", "length")
	get(&o.BytesSize, "PyBytesObject", "ob_base.ob_size")
	get(&o.BytesData, "PyBytesObject", "ob_sval")
	if v, err := t.size("PyASCIIObject"); err == nil {
		o.UnicodeASCIISize = v
	} else if firstErr == nil {
		firstErr = err
	}
	if v, err := t.size("PyCompactUnicodeObject"); err == nil {
		o.UnicodeCompactSize = v
	} else if firstErr == nil {
		firstErr = err
	}
	if firstErr != nil {
		return Layout{}, fmt.Errorf("python 3.%d dwarf: %w", minor, firstErr)
	}
	return o, nil
}

// lineTableField is the code object's field that holds its line table.
func lineTableField(minor int) string {
	if minor <= 9 {
		return "co_lnotab"
	}
	return "co_linetable"
}

// layoutFor maps a 3.x minor version to its frame layout, 0 if unsupported.
func layoutFor(minor int) int {
	switch minor {
	case 8, 9:
		return PyLayout38
	case 10:
		return PyLayout310
	case 11:
		return PyLayout311
	case 12:
		return PyLayout312
	case 13:
		return PyLayout313
	}
	return 0
}
