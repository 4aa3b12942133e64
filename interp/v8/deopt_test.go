package v8

import (
	"encoding/binary"
	"testing"

	"github.com/tracer-dev/tracer/internal/testbin"
)

// Two translations, the second taking two opcodes from the first with
// MATCH_PREVIOUS_TRANSLATION (as an opcode byte past the last opcode).
func TestTranslation(t *testing.T) {
	s := func(v int) byte { return byte(v << 1) } // a small signed VLQ
	a := []byte{
		opBeginNoFeed, 0, s(2), s(2),
		opInterpNoRet, 0x9c, 0x01, s(2), s(0), s(4), // offset 78: 156 as a two-byte VLQ
		40, s(6), // a tagged stack slot
		opInterpNoRet, s(16), s(0), s(1), s(1),
		37, // optimized out
	}
	b := []byte{
		opBeginNoFeed, byte(len(a)), s(2), s(2),
		byte(len(translationOps) + 2), // the first translation's frame and slot
		opInterpNoRet, s(30), s(1), s(2), s(0),
		37,
	}
	buf := append(append([]byte{}, a...), b...)
	fa, ok := translation(buf, 0)
	if !ok || len(fa) != 2 || fa[0] != (transFrame{fn: 2, bytecode: 0, offset: 78}) || fa[1] != (transFrame{fn: 0, bytecode: 1, offset: 16}) {
		t.Errorf("first translation: %+v, %v", fa, ok)
	}
	fb, ok := translation(buf, len(a))
	if !ok || len(fb) != 2 || fb[0] != (transFrame{fn: 2, bytecode: 0, offset: 78}) || fb[1] != (transFrame{fn: 1, bytecode: 2, offset: 30}) {
		t.Errorf("second translation: %+v, %v", fb, ok)
	}
	if _, ok := translation(buf, 2); ok {
		t.Error("a translation read from the middle of another")
	}
	if _, ok := translation(buf[:len(a)-3], 0); ok {
		t.Error("a cut translation was read")
	}
}

func FuzzTranslation(f *testing.F) {
	f.Add([]byte{opBeginNoFeed, 0, 2, 2, opInterpNoRet, 2, 2, 0, 2}, 0)
	f.Fuzz(func(t *testing.T, b []byte, i int) {
		translation(b, i) // no panic, no endless loop
	})
}

// Maglev's eager deoptimization points are the jumps to its exits.
func TestDeoptPoints(t *testing.T) {
	l := &Layout{DeoptInliningPositions: 8}
	const exits = 64
	smiw := func(v int) uint64 { return uint64(v) << 32 }
	d := make([]uint64, 12)
	d[9], d[10], d[11] = smiw(exits), smiw(2), smiw(0)
	d = append(d, smiw(5), smiw(0), smiw(exits), smiw(9), smiw(0), smiw(exits+4))
	code := make([]byte, exits+8)
	code[10], code[11] = 0x0f, 0x84 // je exit 0
	binary.LittleEndian.PutUint32(code[12:], uint32(exits-16))
	code[20] = 0xe9 // jmp exit 1
	binary.LittleEndian.PutUint32(code[21:], uint32(exits+4-25))
	pts := deoptPoints(l, d, code)
	if len(pts) != 2 || pts[0].off != 10 || pts[0].bc != 5 || pts[1].off != 20 || pts[1].bc != 9 {
		t.Fatalf("points %+v", pts)
	}
	for _, c := range []struct {
		off int64
		bc  int
	}{{0, 5}, {10, 5}, {11, 9}, {20, 9}, {40, 9}} {
		if p := pointAt(pts, c.off); p == nil || p.bc != c.bc {
			t.Errorf("offset %d: %+v, want bytecode offset %d", c.off, p, c.bc)
		}
	}
	d[11] = smiw(1) // counts that do not add up
	if pts := deoptPoints(l, d, code); pts != nil {
		t.Errorf("points read from data laid out otherwise: %+v", pts)
	}
}

// V8 11.3 (node 20) exports Code's position tables but not its instruction
// fields: the size follows the flags, a builtin id and kind-specific flags.
func TestCodeLayoutV8_11_3(t *testing.T) {
	seen := false
	for _, node := range testbin.Nodes(t) {
		f, err := Inspect(node)
		if err != nil || f.Layout.Major != 11 || f.Layout.Minor != 3 {
			continue
		}
		seen = true
		l := f.Layout
		if l.CodeInstructionStart != 40 || l.CodeFlags != 48 || l.CodeInstructionSize != 56 {
			t.Errorf("%s: Code instruction start %d, flags %d, size %d; want 40, 48, 56", node, l.CodeInstructionStart, l.CodeFlags, l.CodeInstructionSize)
		}
	}
	if !seen {
		t.Skip("no node with V8 11.3 here")
	}
}
