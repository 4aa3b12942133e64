package v8

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/tracer-dev/tracer/bpf"
)

// Process is the node of one process: its file, and where the file's code
// sits in that process.
type Process struct {
	PID int
	*File
	bias uint64 // added to the file's link-time addresses

	copyLo, copyHi uint64 // the running copy of the builtins, once known
}

// InBuiltins says whether pc is in V8's builtins (embedded, or the copy).
func (p *Process) InBuiltins(pc uint64) bool {
	return pc >= p.BlobLo+p.bias && pc < p.BlobHi+p.bias || pc >= p.copyLo && pc < p.copyHi
}

// ForProcess places a node file in process pid from the mapping of its
// executable segment (start address and file offset).
func (f *File) ForProcess(pid int, start, offset uint64) *Process {
	// runtime = link - TextLo + textOff - offset + start
	return &Process{PID: pid, File: f, bias: start - offset + f.textOff - f.TextLo}
}

// Find looks for node in a running process (tracer attach): the executable
// mapping of a file named like node that holds V8. It returns ErrNoV8 when
// there is none, or an *UnsupportedError.
func Find(pid int) (*Process, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, fmt.Errorf("find node in pid %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var unsupported error
	var found *Process
	var later [][3]uint64
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || !strings.Contains(fields[1], "x") || !IsNodePath(fields[5]) {
			continue
		}
		addrs := strings.SplitN(fields[0], "-", 2)
		start, err1 := strconv.ParseUint(addrs[0], 16, 64)
		off, err2 := strconv.ParseUint(fields[2], 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		length := uint64(0)
		if end, err := strconv.ParseUint(addrs[1], 16, 64); err == nil && end > start {
			length = end - start
		}
		if found != nil {
			if fields[5] == found.Path {
				found.Mapped(start, length, off)
			}
			continue
		}
		nf, err := Inspect(fields[5])
		if errors.Is(err, ErrNoV8) {
			continue
		}
		if err != nil {
			unsupported = err
			continue
		}
		if off != nf.textOff {
			later = append(later, [3]uint64{start, length, off})
			continue // a copy of the builtins seen before the text
		}
		found = nf.ForProcess(pid, start, off)
	}
	if found != nil {
		for _, m := range later {
			found.Mapped(m[0], m[1], m[2])
		}
		return found, nil
	}
	if unsupported != nil {
		return nil, unsupported
	}
	return nil, ErrNoV8
}

// Mapped tells p about another executable mapping of its node file (start,
// length, file offset): node maps the pages of the embedded builtins a
// second time next to V8's code space, so that JIT code reaches them with
// short calls, and runs them from there. It says whether the mapping was
// that copy.
func (p *Process) Mapped(start, length, offset uint64) bool {
	blobOff := p.BlobLo - p.TextLo + p.textOff
	if offset == p.textOff || offset > blobOff || offset+length < blobOff+(p.BlobHi-p.BlobLo) {
		return false
	}
	lo := start + (blobOff - offset)
	if lo == p.copyLo {
		return false
	}
	p.copyLo, p.copyHi = lo, lo+(p.BlobHi-p.BlobLo)
	return true
}

// config is what the BPF walker is told about the process.
func (p *Process) config() bpf.V8V8Config {
	l := p.Layout
	slot := func(off int) uint32 { return uint32(bpfFPBelow + off) }
	return bpf.V8V8Config{
		TextLo:           p.TextLo + p.bias,
		TextHi:           p.TextHi + p.bias,
		BlobLo:           p.BlobLo + p.bias,
		BlobHi:           p.BlobHi + p.bias,
		CopyLo:           p.copyLo,
		CopyHi:           p.copyHi,
		FpContext:        slot(l.FPContext),
		FpFunction:       slot(l.FPFunction),
		FpBytecodeArray:  slot(l.FPBytecodeArray),
		FpBytecodeOffset: slot(l.FPBytecodeOffset),
		OffMap:           l.HeapObjectMap,
		OffInstanceType:  l.MapInstanceType,
		OffShared:        l.FunctionShared,
		OffSfiName:       l.SFINameOrScopeInfo,
		TypeFunctionLo:   l.TypeFunctionLo,
		TypeFunctionHi:   l.TypeFunctionHi,
		TypeContextLo:    l.TypeContextLo,
		TypeContextHi:    l.TypeContextHi,
	}
}

// bpfFPBelow is V8_FP_BELOW of bpf/headers/v8.h: the bytes of a frame the
// walker reads below its frame pointer.
const bpfFPBelow = 48

// checkSlots says whether the layout's frame slots fit the walker's window.
func (l *Layout) checkSlots() error {
	for _, off := range []int{l.FPContext, l.FPFunction, l.FPBytecodeArray, l.FPBytecodeOffset} {
		if off > -8 || off < -bpfFPBelow || off%8 != 0 {
			return fmt.Errorf("frame slot at fp%+d is outside what the walker reads", off)
		}
	}
	return nil
}

// IsText says whether a mapping of the file at this file offset is its
// executable segment (rather than the copy of its builtins).
func (f *File) IsText(offset uint64) bool { return offset == f.textOff }

// ForFork returns the node of a forked child: the same file at the same
// addresses.
func (p *Process) ForFork(pid int) *Process {
	c := *p
	c.PID = pid
	return &c
}

// Fixed says whether the file is linked at fixed addresses (not position
// independent): its code is where its link addresses say in any process.
func (f *File) Fixed() bool { return f.fixed }

// TextOffset is the file offset of the executable segment.
func (f *File) TextOffset() uint64 { return f.textOff }
