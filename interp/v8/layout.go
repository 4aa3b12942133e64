package v8

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/tracer-dev/tracer/loader"
)

// UnsupportedError says a node binary was found whose JS frames cannot be
// read; its samples keep their native frames (and the perf-map route).
type UnsupportedError struct {
	Path    string
	Version string // the V8 version, when it could be read
	Reason  string
}

func (e *UnsupportedError) Error() string {
	v := e.Version
	if v == "" {
		v = "of unknown version"
	}
	return fmt.Sprintf("node %s (V8 %s): %s; its JS frames are named only through a perf map", e.Path, v, e.Reason)
}

// ErrNoV8 says a file holds no V8 (no v8dbg_* symbols and no V8 version).
var ErrNoV8 = errors.New("no V8 in this file")

// Layout is what the walker and the namer need to know about one V8 build:
// frame slots, object field offsets, instance types and code kinds, read
// from the binary's v8dbg_* symbols (the postmortem metadata node has
// exported since 0.x), with a few fields that V8 stopped exporting filled
// from a built-in rule per version (Source says which).
type Layout struct {
	Major, Minor, Build int // V8 version

	// Frame slots, as offsets from the frame pointer.
	FPContext, FPFunction, FPBytecodeArray, FPBytecodeOffset int

	HeapObjectMap, MapInstanceType   uint32
	FunctionShared                   uint32
	SFINameOrScopeInfo, SFIScript    uint32
	SFIFunctionData                  uint32
	ScriptName, ScriptSource         uint32
	ScriptLineEnds                   uint32
	FixedArrayLength, FixedArrayData uint32
	StringLength                     uint32
	SeqOneByteChars, SeqTwoByteChars uint32
	ConsFirst, ConsSecond            uint32
	ThinActual                       uint32
	SlicedParent, SlicedOffset       uint32
	BytecodeSourcePositions          uint32 // BytecodeArray::source_position_table
	BytecodeData                     uint32 // BytecodeArray: first bytecode
	ScopeInfoFirstVars               int
	ScopeInfoNContextLocals          int

	// Code objects: optimized and baseline code.
	CodeDeoptData, CodeSourcePositions uint32
	CodeInstructionStart               uint32 // a pointer field (V8 11+), or the header size (CodeStart false)
	CodeInstructionSize, CodeFlags     uint32
	CodeStartIsPointer                 bool
	CodeKindMask, CodeKindShift        uint32
	CodeKindBaseline                   int
	// InstructionStream (V8 11+): the object code lives in; its Code is the
	// field after the map.
	IStreamInstructionStart uint32
	DeoptInlinedCount       int // DeoptimizationData indexes
	DeoptLiteralArray       int
	DeoptInliningPositions  int
	DeoptSharedInfo         int
	DeoptSharedIsWrapped    bool // V8 12.6+: a SharedFunctionInfoWrapper
	SFIWrapperShared        uint32

	// Instance types.
	TypeFunctionLo, TypeFunctionHi     uint16
	TypeContextLo, TypeContextHi       uint16
	TypeSFI, TypeScript, TypeScopeInfo uint16
	TypeBytecodeArray, TypeCode        uint16
	TypeIStream                        uint16 // 0 before V8 11
	TypeInterpreterData                uint16 // 0 when not exported
	TypeBytecodeWrapper                uint16 // 0 before V8 12.x
	TypeFixedArray                     uint16
	FirstNonstringType                 uint16
	StringReprMask, StringEncMask      uint16
	SeqTag, ConsTag, SlicedTag         uint16
	ThinTag, ExternalTag, OneByteTag   uint16

	// Bytecode lengths (Bytecodes::kBytecodeSizes: 3 scales × opcodes),
	// for mapping baseline code back to bytecode offsets.
	BytecodeSizes []byte

	Source string // where fields not exported by the binary came from
}

// Version returns "major.minor.build".
func (l *Layout) Version() string { return fmt.Sprintf("%d.%d.%d", l.Major, l.Minor, l.Build) }

func (l *Layout) atLeast(major, minor, build int) bool {
	if l.Major != major {
		return l.Major > major
	}
	if l.Minor != minor {
		return l.Minor > minor
	}
	return l.Build >= build
}

// nodeName matches the files that may hold V8: node executables and libnode.
var nodeName = regexp.MustCompile(`^(?:node|nodejs|node\d+)$|^libnode\.so(?:\.\d+)*$`)

// IsNodePath says whether a mapped file's name looks like a node binary.
func IsNodePath(path string) bool { return nodeName.MatchString(filepath.Base(path)) }

// File is one node binary and its V8 layout.
type File struct {
	Path   string
	Layout *Layout
	// The executable segment and the embedded builtins inside it, as
	// link-time addresses.
	TextLo, TextHi, BlobLo, BlobHi uint64
	textOff                        uint64 // file offset of the executable segment
	fixed                          bool   // ET_EXEC: linked at fixed addresses
}

var files loader.FileCache[*File]

// Inspect reads a node binary's V8 version and layout, cached by path, size
// and modification time. It returns ErrNoV8 for a file without V8 and an
// *UnsupportedError when the layout cannot be read.
func Inspect(path string) (*File, error) {
	return files.Get(path, "inspect node", inspect)
}

// wantedSymbol says whether a symbol is one Inspect reads by name.
func wantedSymbol(name []byte) bool {
	return bytes.HasPrefix(name, []byte("v8dbg_")) || bytes.HasPrefix(name, []byte("_ZN2v88internal7Version6")) ||
		bytes.Equal(name, []byte(bytecodeSizesSymbol))
}

const bytecodeSizesSymbol = "_ZN2v88internal11interpreter9Bytecodes14kBytecodeSizesE"

// symbols scans a file's symbol tables (the dynamic one holds the v8dbg_*
// constants; the full one, when not stripped, the builtins) for the
// symbols wantedSymbol names, and the span of the Builtins_* functions. It
// reads the tables raw: node has some 150 000 symbols, and decoding them
// all (debug/elf's Symbols) took seconds on a loaded machine, during which
// an attach's first samples went without JS frames.
func symbols(ef *elf.File) (m map[string]elf.Symbol, blobLo, blobHi uint64) {
	m = map[string]elf.Symbol{}
	for _, typ := range []elf.SectionType{elf.SHT_DYNSYM, elf.SHT_SYMTAB} {
		sec := ef.SectionByType(typ)
		if sec == nil || int(sec.Link) >= len(ef.Sections) {
			continue
		}
		tab, err1 := sec.Data()
		strs, err2 := ef.Sections[sec.Link].Data()
		if err1 != nil || err2 != nil {
			continue
		}
		for off := 24; off+24 <= len(tab); off += 24 { // entry 0 is null
			e := tab[off : off+24]
			nameOff := binary.LittleEndian.Uint32(e)
			value := binary.LittleEndian.Uint64(e[8:])
			if value == 0 || int(nameOff) >= len(strs) {
				continue
			}
			name := strs[nameOff:]
			if k := bytes.IndexByte(name, 0); k >= 0 {
				name = name[:k]
			}
			info := e[4]
			size := binary.LittleEndian.Uint64(e[16:])
			if bytes.HasPrefix(name, []byte("Builtins_")) && elf.ST_TYPE(info) == elf.STT_FUNC {
				if blobLo == 0 || value < blobLo {
					blobLo = value
				}
				blobHi = max(blobHi, value+max(size, 1))
				continue
			}
			if !wantedSymbol(name) {
				continue
			}
			if _, ok := m[string(name)]; !ok {
				m[string(name)] = elf.Symbol{Name: string(name), Info: info, Value: value, Size: size}
			}
		}
	}
	return m, blobLo, blobHi
}

// readAt reads n bytes at a link-time address from the file's segments.
func readAt(ef *elf.File, addr uint64, n int) ([]byte, bool) {
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD && addr >= p.Vaddr && addr+uint64(n) <= p.Vaddr+p.Memsz {
			b := make([]byte, n)
			if addr+uint64(n) > p.Vaddr+p.Filesz {
				return b, addr >= p.Vaddr+p.Filesz // .bss: zeros
			}
			if _, err := p.ReadAt(b, int64(addr-p.Vaddr)); err != nil {
				return nil, false
			}
			return b, true
		}
	}
	return nil, false
}

func inspect(path string) (*File, error) {
	ef, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("inspect node %s: %w", path, err)
	}
	defer ef.Close()
	syms, blobLo, blobHi := symbols(ef)
	u32 := func(name string) (uint32, bool) {
		s, ok := syms[name]
		if !ok {
			return 0, false
		}
		b, ok := readAt(ef, s.Value, 4)
		if !ok {
			return 0, false
		}
		return binary.LittleEndian.Uint32(b), true
	}
	l := &Layout{}
	var vok [3]bool
	for i, part := range []string{"major", "minor", "build"} {
		var v uint32
		v, vok[i] = u32("_ZN2v88internal7Version6" + part + "_E")
		switch i {
		case 0:
			l.Major = int(v)
		case 1:
			l.Minor = int(v)
		case 2:
			l.Build = int(v)
		}
	}
	n := 0
	for name := range syms {
		if strings.HasPrefix(name, "v8dbg_") {
			n++
		}
	}
	if n == 0 && !vok[0] {
		return nil, ErrNoV8
	}
	ver := ""
	if vok[0] && vok[1] && vok[2] {
		ver = l.Version()
	}
	if ver == "" {
		return nil, &UnsupportedError{Path: path, Reason: "its V8 version could not be read (no Version symbols)"}
	}
	if n == 0 {
		return nil, &UnsupportedError{Path: path, Version: ver, Reason: "it exports no v8dbg_* layout symbols"}
	}
	if err := l.read(u32); err != nil {
		return nil, &UnsupportedError{Path: path, Version: ver, Reason: err.Error()}
	}
	if err := l.checkSlots(); err != nil {
		return nil, &UnsupportedError{Path: path, Version: ver, Reason: err.Error()}
	}
	if s, ok := syms[bytecodeSizesSymbol]; ok && s.Size > 0 && s.Size%3 == 0 && s.Size < 3*256 {
		if b, ok := readAt(ef, s.Value, int(s.Size)); ok {
			l.BytecodeSizes = b
		}
	}
	f := &File{Path: path, Layout: l, fixed: ef.Type == elf.ET_EXEC}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 {
			f.TextLo, f.TextHi, f.textOff = p.Vaddr, p.Vaddr+p.Memsz, p.Off
			break
		}
	}
	// The embedded builtins: the span of the Builtins_* symbols.
	f.BlobLo, f.BlobHi = blobLo, blobHi
	if f.BlobLo == 0 {
		return nil, &UnsupportedError{Path: path, Version: ver, Reason: "its builtins cannot be located (no Builtins_* symbols: stripped)"}
	}
	return f, nil
}

// read fills the layout from the v8dbg_* symbols (u32 reads one), with the
// built-in rules for fields some versions do not export.
func (l *Layout) read(u32 func(string) (uint32, bool)) error {
	var missing []string
	var fallback []string
	get := func(names ...string) (uint32, bool) {
		for _, n := range names {
			if v, ok := u32("v8dbg_" + n); ok {
				return v, true
			}
		}
		return 0, false
	}
	must := func(dst *uint32, names ...string) {
		if v, ok := get(names...); ok {
			*dst = v
		} else {
			missing = append(missing, names[0])
		}
	}
	must16 := func(dst *uint16, names ...string) {
		var v uint32
		must(&v, names...)
		*dst = uint16(v)
	}
	mustInt := func(dst *int, names ...string) {
		var v uint32
		must(&v, names...)
		*dst = int(int32(v))
	}
	var tagged, smiShift, heapTag, heapMask uint32
	must(&tagged, "TaggedSize")
	must(&smiShift, "SmiShiftSize")
	must(&heapTag, "HeapObjectTag")
	must(&heapMask, "HeapObjectTagMask")
	if len(missing) == 0 && (tagged != 8 || smiShift != 31 || heapTag != 1 || heapMask != 3) {
		return fmt.Errorf("its tagging (TaggedSize %d, SmiShiftSize %d) is not the 64-bit one without pointer compression", tagged, smiShift)
	}
	mustInt(&l.FPContext, "off_fp_context")
	mustInt(&l.FPFunction, "off_fp_function")
	mustInt(&l.FPBytecodeArray, "off_fp_bytecode_array")
	mustInt(&l.FPBytecodeOffset, "off_fp_bytecode_offset")
	must(&l.HeapObjectMap, "class_HeapObject__map__Map")
	must(&l.MapInstanceType, "class_Map__instance_type__uint16_t")
	must(&l.FunctionShared, "class_JSFunction__shared__SharedFunctionInfo")
	must(&l.SFINameOrScopeInfo, "class_SharedFunctionInfo__name_or_scope_info__Object",
		"class_SharedFunctionInfo__name_or_scope_info__Tagged_Object_",
		"class_SharedFunctionInfo__name_or_scope_info__Tagged_NameOrScopeInfoT_")
	must(&l.ScriptName, "class_Script__name__Object")
	must(&l.ScriptSource, "class_Script__source__Object")
	must(&l.ScriptLineEnds, "class_Script__line_ends__Object")
	must(&l.FixedArrayLength, "class_FixedArrayBase__length__SMI")
	must(&l.FixedArrayData, "class_FixedArray__data__uintptr_t")
	must(&l.StringLength, "class_String__length__int32_t")
	must(&l.SeqOneByteChars, "class_SeqOneByteString__chars__char")
	must(&l.SeqTwoByteChars, "class_SeqTwoByteString__chars__char")
	must(&l.ConsFirst, "class_ConsString__first__String")
	must(&l.ConsSecond, "class_ConsString__second__String")
	must(&l.ThinActual, "class_ThinString__actual__String")
	must(&l.SlicedParent, "class_SlicedString__parent__String")
	must(&l.SlicedOffset, "class_SlicedString__offset__SMI")
	must(&l.BytecodeData, "class_BytecodeArray__data__uintptr_t")
	mustInt(&l.ScopeInfoFirstVars, "scopeinfo_idx_first_vars")
	mustInt(&l.ScopeInfoNContextLocals, "scopeinfo_idx_ncontextlocals")
	must16(&l.TypeSFI, "type_SharedFunctionInfo__SHARED_FUNCTION_INFO_TYPE")
	must16(&l.TypeScript, "type_Script__SCRIPT_TYPE")
	must16(&l.TypeScopeInfo, "type_ScopeInfo__SCOPE_INFO_TYPE")
	must16(&l.TypeBytecodeArray, "type_BytecodeArray__BYTECODE_ARRAY_TYPE")
	must16(&l.TypeCode, "type_Code__CODE_TYPE")
	must16(&l.TypeFixedArray, "type_FixedArray__FIXED_ARRAY_TYPE")
	must16(&l.TypeContextLo, "FirstContextType")
	must16(&l.TypeContextHi, "LastContextType")
	must16(&l.FirstNonstringType, "FirstNonstringType")
	must16(&l.StringReprMask, "StringRepresentationMask")
	must16(&l.StringEncMask, "StringEncodingMask")
	must16(&l.ConsTag, "ConsStringTag")
	must16(&l.SlicedTag, "SlicedStringTag")
	must16(&l.ThinTag, "ThinStringTag")
	must16(&l.ExternalTag, "ExternalStringTag")
	must16(&l.OneByteTag, "OneByteStringTag")
	must(&l.CodeKindMask, "CodeKindFieldMask")
	must(&l.CodeKindShift, "CodeKindFieldShift")
	mustInt(&l.CodeKindBaseline, "CodeKindBaseline")
	if len(missing) > 0 {
		return fmt.Errorf("its binary lacks the layout symbols %s", strings.Join(missing, ", "))
	}
	if v, ok := get("SeqStringTag"); ok {
		l.SeqTag = uint16(v)
	}
	if v, ok := get("type_InstructionStream__INSTRUCTION_STREAM_TYPE"); ok {
		l.TypeIStream = uint16(v)
	}
	if v, ok := get("type_InterpreterData__INTERPRETER_DATA_TYPE"); ok {
		l.TypeInterpreterData = uint16(v)
	}
	if v, ok := get("type_BytecodeWrapper__BYTECODE_WRAPPER_TYPE"); ok {
		l.TypeBytecodeWrapper = uint16(v)
	}
	if v, ok := get("class_InstructionStream__instruction_start__uintptr_t"); ok {
		l.IStreamInstructionStart = v
	}

	// JSFunction instance types: a range since V8 9.0; exported since 12.
	if lo, ok := get("FirstJSFunctionType"); ok {
		hi, _ := get("LastJSFunctionType")
		l.TypeFunctionLo, l.TypeFunctionHi = uint16(lo), uint16(hi)
	} else {
		lo, ok := get("type_JSFunction__JS_FUNCTION_TYPE")
		if !ok {
			return errors.New("its binary lacks the JSFunction instance type")
		}
		// The JSFunction types close the instance-type enumeration (15
		// of them in V8 9.6 to 11.x).
		l.TypeFunctionLo, l.TypeFunctionHi = uint16(lo), uint16(lo)+16
		fallback = append(fallback, "JSFunction type range")
	}

	// SharedFunctionInfo: the script field was renamed.
	if v, ok := get("class_SharedFunctionInfo__script_or_debug_info__HeapObject",
		"class_SharedFunctionInfo__script_or_debug_info__Object",
		"class_SharedFunctionInfo__script__Tagged_HeapObject_"); ok {
		l.SFIScript = v
	} else {
		return errors.New("its binary lacks SharedFunctionInfo::script")
	}
	if v, ok := get("class_SharedFunctionInfo__function_data__Object",
		"class_SharedFunctionInfo__function_data__Tagged_Object_"); ok {
		l.SFIFunctionData = v
	} else {
		// Not exported since V8 12: the field follows the map.
		l.SFIFunctionData = 8
		fallback = append(fallback, "SharedFunctionInfo::function_data")
	}

	// BytecodeArray::source_position_table: not exported since V8 9.4.
	// Up to V8 11 it is the third field after the length; from V8 12 the
	// array lives in trusted space and the table follows the wrapper.
	if v, ok := get("class_BytecodeArray__source_position_table__Object",
		"class_BytecodeArray__source_position_table__Tagged_HeapObject_"); ok {
		l.BytecodeSourcePositions = v
	} else if l.Major >= 12 {
		l.BytecodeSourcePositions = l.FixedArrayLength + 2*8
		fallback = append(fallback, "BytecodeArray::source_position_table")
	} else {
		l.BytecodeSourcePositions = l.FixedArrayLength + 3*8
		fallback = append(fallback, "BytecodeArray::source_position_table")
	}

	// Code.
	start, okStart := get("class_Code__instruction_start__uintptr_t", "class_Code__instruction_start__Address")
	size, okSize := get("class_Code__instruction_size__int")
	flags, okFlags := get("class_Code__flags__uint32_t")
	spt, okSPT := get("class_Code__source_position_table__ByteArray", "class_Code__source_position_table__Tagged_ByteArray_")
	deopt, okDeopt := get("class_Code__deoptimization_data__FixedArray", "class_Code__deoptimization_data__Tagged_FixedArray_")
	switch {
	case l.Major < 11:
		// Code holds its instructions after a header of that size.
		if !okStart || !okSize || !okFlags {
			return errors.New("its binary lacks the Code layout")
		}
		l.CodeInstructionStart, l.CodeInstructionSize, l.CodeFlags = start, size, flags
		if !okSPT {
			spt = size - 2*8
		}
		if !okDeopt {
			deopt = spt - 8
		}
		l.CodeSourcePositions, l.CodeDeoptData = spt, deopt
		if !okSPT || !okDeopt {
			fallback = append(fallback, "Code position tables")
		}
	default:
		// V8 11+: Code is a small object pointing at its InstructionStream.
		l.CodeStartIsPointer = true
		if okSPT && !okStart {
			// V8 11.x exports the tables but not the rest: after the
			// InstructionStream pointer come the entry point, the flags
			// (u32) and, before V8 11.4.59, a builtin id and kind-specific
			// flags (two u16) ahead of the instruction size.
			start = spt + 2*8
			flags = start + 8
			size = flags + 4
			if !l.atLeast(11, 4, 59) {
				size += 4
			}
			okFlags, okSize = true, true
			fallback = append(fallback, "Code instruction fields")
		} else if okStart && !okSPT {
			// V8 12+: the tables precede the wrapper and stream pointers.
			spt = start - 3*8
			fallback = append(fallback, "Code::source_position_table")
		} else if !okStart {
			return errors.New("its binary lacks the Code layout")
		}
		if !okFlags {
			flags = start + 8
		}
		if !okSize {
			size = flags + 4
		}
		if !okDeopt {
			deopt = spt - 8
			fallback = append(fallback, "Code::deoptimization_data")
		}
		l.CodeInstructionStart, l.CodeInstructionSize, l.CodeFlags = start, size, flags
		l.CodeSourcePositions, l.CodeDeoptData = spt, deopt
		if l.TypeIStream == 0 || l.IStreamInstructionStart == 0 {
			return errors.New("its binary lacks the InstructionStream layout")
		}
	}

	// Deoptimization data indexes.
	idx := func(dst *int, def int, names ...string) {
		if v, ok := get(names...); ok {
			*dst = int(v)
			return
		}
		*dst = def
		fallback = append(fallback, names[0])
	}
	idx(&l.DeoptInlinedCount, 1, "DeoptimizationDataInlinedFunctionCountIndex")
	idx(&l.DeoptLiteralArray, 2, "DeoptimizationDataLiteralArrayIndex")
	if v, ok := get("DeoptimizationDataWrappedSharedFunctionInfoIndex"); ok {
		l.DeoptSharedInfo, l.DeoptSharedIsWrapped = int(v), true
		l.SFIWrapperShared = 8
		if w, ok := get("class_SharedFunctionInfoWrapper__shared_info__Tagged_SharedFunctionInfo_"); ok {
			l.SFIWrapperShared = w
		}
	} else {
		idx(&l.DeoptSharedInfo, 6, "DeoptimizationDataSharedFunctionInfoIndex")
	}
	idx(&l.DeoptInliningPositions, l.DeoptSharedInfo+1, "DeoptimizationDataInliningPositionsIndex")

	if len(fallback) > 0 {
		l.Source = "v8dbg symbols; built-in rule for " + strings.Join(fallback, ", ")
	} else {
		l.Source = "v8dbg symbols"
	}
	return nil
}
