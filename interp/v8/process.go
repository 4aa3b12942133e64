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
		nf, err := Inspect(fields[5])
		if errors.Is(err, ErrNoV8) {
			continue
		}
		if err != nil {
			unsupported = err
			continue
		}
		return nf.ForProcess(pid, start, off), nil
	}
	if unsupported != nil {
		return nil, unsupported
	}
	return nil, ErrNoV8
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
