package cpython

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tracer-dev/tracer/bpf"
	"github.com/tracer-dev/tracer/symbolize"
)

// Limits on what is read from a target for one code object.
const (
	maxPyString    = 4096
	maxPyLinetable = 1 << 20
)

// Codes names the code objects of one process by reading its memory.
// Results are cached by address; each entry remembers co_firstlineno, and a
// lookup whose firstlineno (read in the kernel with the frame) differs reads
// the object again, since a freed code object's address can be reused.
type Codes struct {
	pid    int
	layout Layout

	mu    sync.Mutex
	mem   *os.File
	cache map[uint64]*pyCode
	reads uint64 // code objects read
	fails uint64 // code objects that could not be read
	cwd   string // the process's working directory, for relative file names
	// early names code objects the kernel read when it first saw them
	// (py_code_event), for those freed before this reader got to them.
	early func(code uint64, first int32, minor int) *earlyCopy
}

type pyCode struct {
	first int32
	name  string
	file  string
	table []byte // co_linetable
	lines []pyLineRange
}

// NewCodes reads code objects of process pid laid out as l. Memory is
// read through /proc/PID/mem, opened on first use.
func NewCodes(pid int, l Layout) *Codes {
	return &Codes{pid: pid, layout: l, cache: map[uint64]*pyCode{}}
}

// Close releases the process's memory file. Cached names stay usable.
func (c *Codes) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mem == nil {
		return nil
	}
	err := c.mem.Close()
	c.mem = nil
	return err
}

// Counts returns how many code objects were read, and how many could not be.
func (c *Codes) Counts() (read, failed uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads, c.fails
}

// Frame names one Python frame: the code object at address code, running
// the instruction at byte offset offset (noOffset when unknown), whose
// co_firstlineno was firstLine when the frame was sampled.
func (c *Codes) Frame(code uint64, offset uint32, firstLine int32) symbolize.Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ec *earlyCopy
	if c.early != nil {
		ec = c.early(code, firstLine, c.layout.Minor)
	}
	pc, ok := c.cache[code]
	if !ok || pc.first != firstLine {
		var err error
		pc, err = c.readCode(code)
		c.reads++
		if err != nil {
			if ec != nil {
				return c.earlyFrame(code, offset, firstLine, ec)
			}
			c.fails++
			return symbolize.Frame{Function: fmt.Sprintf("[python code 0x%x]", code), Module: "[python]", Addr: code, Kind: symbolize.Python}
		}
		c.cache[code] = pc
	}
	f := symbolize.Frame{Function: pc.name, File: pc.file, Line: int(pc.first), Module: "[python]", Addr: code, Kind: symbolize.Python}
	if pc.first != firstLine {
		if ec != nil {
			return c.earlyFrame(code, offset, firstLine, ec)
		}
		// The object changed between the sample and this read.
		f.Function = "[freed python code]"
		f.File, f.Line = "", 0
		return f
	}
	// The object read may be another one with the same first line, put at
	// the address of the sampled one after it was freed (module bodies all
	// start at line 1, and one import follows another), or the freed one
	// whose parts were already reused: the kernel's copy, taken while the
	// sampled frame ran it, names the sampled one.
	if ec != nil && !ec.matches(c.absolute(ec.file), pc) {
		return c.earlyFrame(code, offset, firstLine, ec)
	}
	if line, ok := lineAt(pc.lines, offset); ok {
		f.Line = line
	}
	return f
}

// earlyCopy is what the kernel copied of a code object when it first saw
// it: its names (cut at the copy's sizes) and the start of its line table.
type earlyCopy struct {
	name, file string
	table      []byte
	lines      []pyLineRange // table decoded
}

// matches says whether the code object pc read from the process (its file
// name made absolute) is the one the kernel copied: same names, and a line
// table that starts with the copy.
func (ec *earlyCopy) matches(file string, pc *pyCode) bool {
	same := func(copied, full string, max int) bool {
		if len(copied) >= max-1 {
			return strings.HasPrefix(full, copied)
		}
		return copied == full
	}
	return same(ec.name, pc.name, int(bpf.PyperfPyCodeLimitsPY_CODE_NAME_MAX)) &&
		same(file, pc.file, int(bpf.PyperfPyCodeLimitsPY_CODE_FILE_MAX)) &&
		bytes.HasPrefix(pc.table, ec.table)
}

// earlyFrame names a code object freed before it was read from the
// kernel's copy: the line of an instruction past the copied part of the
// line table is the function's first line.
func (c *Codes) earlyFrame(code uint64, offset uint32, first int32, ec *earlyCopy) symbolize.Frame {
	f := symbolize.Frame{Function: ec.name, File: c.absolute(ec.file), Line: int(first), Module: "[python]", Addr: code, Kind: symbolize.Python}
	if line, ok := lineAt(ec.lines, offset); ok {
		f.Line = line
	}
	return f
}

// forget drops what was read at address code: another code object is there.
func (c *Codes) forget(code uint64) {
	c.mu.Lock()
	delete(c.cache, code)
	c.mu.Unlock()
}

func (c *Codes) readCode(code uint64) (*pyCode, error) {
	l := c.layout
	hdr := max(l.CodeFilename, l.CodeName, l.CodeQualname, l.CodeLinetable, l.CodeFirstlineno) + 8
	b := make([]byte, hdr)
	if err := c.read(code, b); err != nil {
		return nil, err
	}
	ptr := func(off uint32) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
	pc := &pyCode{first: int32(binary.LittleEndian.Uint32(b[l.CodeFirstlineno:]))}
	var err error
	if pc.name, err = c.readString(ptr(l.nameField())); err != nil {
		return nil, fmt.Errorf("code name: %w", err)
	}
	if pc.file, err = c.readString(ptr(l.CodeFilename)); err != nil {
		return nil, fmt.Errorf("code filename: %w", err)
	}
	pc.file = c.absolute(pc.file)
	table, err := c.readBytes(ptr(l.CodeLinetable))
	if err != nil {
		return nil, fmt.Errorf("code line table: %w", err)
	}
	pc.table = table
	pc.lines = decodeLines(table, int(pc.first), l.Minor)
	return pc, nil
}

// decodeLines decodes a co_linetable of interpreter minor version minor.
func decodeLines(table []byte, first, minor int) []pyLineRange {
	if minor <= 9 {
		return decodeLnotab(table, first)
	}
	if minor <= 10 {
		return decodeLinetable310(table, first)
	}
	return decodeLocationTable(table, first)
}

// absolute makes a file name relative to the process's working directory
// (`python3 app.py` compiles app.py as "app.py") absolute, so that pprof
// -list finds the source. Names like "<frozen os>" or "<string>" stay.
func (c *Codes) absolute(file string) string {
	if file == "" || strings.HasPrefix(file, "/") || strings.HasPrefix(file, "<") {
		return file
	}
	if c.cwd == "" {
		cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", c.pid))
		if err != nil {
			return file
		}
		c.cwd = cwd
	}
	return filepath.Join(c.cwd, file)
}

func (c *Codes) read(addr uint64, b []byte) error {
	if addr == 0 {
		return errors.New("null pointer")
	}
	if c.mem == nil {
		f, err := os.Open(fmt.Sprintf("/proc/%d/mem", c.pid))
		if err != nil {
			return fmt.Errorf("open memory of pid %d: %w", c.pid, err)
		}
		c.mem = f
	}
	if _, err := c.mem.ReadAt(b, int64(addr)); err != nil {
		return fmt.Errorf("read pid %d at 0x%x: %w", c.pid, addr, err)
	}
	return nil
}

// readString reads a compact str object (the form of every name and file
// name the compiler makes).
func (c *Codes) readString(addr uint64) (string, error) {
	l := c.layout
	hdr := make([]byte, l.UnicodeCompactSize)
	if err := c.read(addr, hdr); err != nil {
		return "", err
	}
	n := binary.LittleEndian.Uint64(hdr[l.UnicodeLength:])
	state := binary.LittleEndian.Uint32(hdr[l.UnicodeState:])
	kind := int(state>>2) & 7
	compact, ascii := state&(1<<5) != 0, state&(1<<6) != 0
	if !compact {
		return "", errors.New("not a compact string")
	}
	if n > maxPyString {
		n = maxPyString
	}
	if ascii {
		b := make([]byte, n)
		if err := c.read(addr+uint64(l.UnicodeASCIISize), b); err != nil {
			return "", err
		}
		return string(b), nil
	}
	if kind != 1 && kind != 2 && kind != 4 {
		return "", fmt.Errorf("string kind %d", kind)
	}
	b := make([]byte, n*uint64(kind))
	if err := c.read(addr+uint64(l.UnicodeCompactSize), b); err != nil {
		return "", err
	}
	out := make([]byte, 0, len(b))
	for i := 0; i+kind <= len(b); i += kind {
		var r rune
		switch kind {
		case 1:
			r = rune(b[i])
		case 2:
			r = rune(binary.LittleEndian.Uint16(b[i:]))
		case 4:
			r = rune(binary.LittleEndian.Uint32(b[i:]))
		}
		out = utf8.AppendRune(out, r)
	}
	return string(out), nil
}

// readBytes reads a bytes object's contents.
func (c *Codes) readBytes(addr uint64) ([]byte, error) {
	l := c.layout
	hdr := make([]byte, l.BytesSize+8)
	if err := c.read(addr, hdr); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(hdr[l.BytesSize:])
	if n > maxPyLinetable {
		return nil, fmt.Errorf("line table of %d bytes", n)
	}
	b := make([]byte, n)
	if err := c.read(addr+uint64(l.BytesData), b); err != nil {
		return nil, err
	}
	return b, nil
}
