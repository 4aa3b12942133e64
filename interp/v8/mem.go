package v8

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"unicode/utf16"
)

// mem reads a process's memory through /proc/PID/mem.
type mem struct {
	pid int
	f   *os.File
}

func (m *mem) read(addr uint64, b []byte) error {
	if addr == 0 {
		return errors.New("null pointer")
	}
	if m.f == nil {
		f, err := os.Open(fmt.Sprintf("/proc/%d/mem", m.pid))
		if err != nil {
			return fmt.Errorf("open memory of pid %d: %w", m.pid, err)
		}
		m.f = f
	}
	if _, err := m.f.ReadAt(b, int64(addr)); err != nil {
		return fmt.Errorf("read pid %d at 0x%x: %w", m.pid, addr, err)
	}
	return nil
}

func (m *mem) u64(addr uint64) (uint64, error) {
	var b [8]byte
	if err := m.read(addr, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func (m *mem) u32(addr uint64) (uint32, error) {
	var b [4]byte
	if err := m.read(addr, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

func (m *mem) close() {
	if m.f != nil {
		m.f.Close()
		m.f = nil
	}
}

// Tagged values (64-bit V8 without pointer compression): a heap object
// pointer ends in 01, a Smi holds its value in the upper 32 bits.
func isHeap(v uint64) bool  { return v&3 == 1 }
func isSmi(v uint64) bool   { return v&1 == 0 }
func smi(v uint64) int32    { return int32(v >> 32) }
func untag(v uint64) uint64 { return v &^ 3 }

// heap reads V8 objects of one process with one layout.
type heap struct {
	mem
	l *Layout
}

// typeOf returns the instance type of the object at tagged pointer p.
func (h *heap) typeOf(p uint64) (uint16, error) {
	if !isHeap(p) {
		return 0, fmt.Errorf("0x%x is not a heap object", p)
	}
	m, err := h.u64(untag(p) + uint64(h.l.HeapObjectMap))
	if err != nil {
		return 0, err
	}
	return h.mapType(m)
}

func (h *heap) mapType(m uint64) (uint16, error) {
	if !isHeap(m) {
		return 0, fmt.Errorf("bad map 0x%x", m)
	}
	var b [2]byte
	if err := h.read(untag(m)+uint64(h.l.MapInstanceType), b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b[:]), nil
}

// field reads the tagged field at off of the object at tagged pointer p.
func (h *heap) field(p uint64, off uint32) (uint64, error) {
	return h.u64(untag(p) + uint64(off))
}

// maxString bounds the strings read (names, file names, sources).
const maxString = 16 << 20

// str reads a String of any representation but external (node keeps
// its own builtins' sources external: those give "").
func (h *heap) str(p uint64, limit int) (string, error) {
	return h.strDepth(p, limit, 0)
}

func (h *heap) strDepth(p uint64, limit, depth int) (string, error) {
	if depth > 32 {
		return "", errors.New("string nested too deep")
	}
	t, err := h.typeOf(p)
	if err != nil {
		return "", err
	}
	l := h.l
	if t >= l.FirstNonstringType {
		return "", fmt.Errorf("not a string (type %d)", t)
	}
	n, err := h.u32(untag(p) + uint64(l.StringLength))
	if err != nil {
		return "", err
	}
	length := int(n)
	if length > limit {
		length = limit
	}
	oneByte := t&l.StringEncMask == l.OneByteTag
	switch t & l.StringReprMask {
	case l.SeqTag:
		if oneByte {
			b := make([]byte, length)
			if err := h.read(untag(p)+uint64(l.SeqOneByteChars), b); err != nil {
				return "", err
			}
			return latin1(b), nil
		}
		b := make([]byte, 2*length)
		if err := h.read(untag(p)+uint64(l.SeqTwoByteChars), b); err != nil {
			return "", err
		}
		u := make([]uint16, length)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
		return string(utf16.Decode(u)), nil
	case l.ConsTag:
		a, err := h.field(p, l.ConsFirst)
		if err != nil {
			return "", err
		}
		b, err := h.field(p, l.ConsSecond)
		if err != nil {
			return "", err
		}
		s1, err := h.strDepth(a, limit, depth+1)
		if err != nil {
			return "", err
		}
		if len(s1) >= limit {
			return s1, nil
		}
		s2, err := h.strDepth(b, limit-len(s1), depth+1)
		if err != nil {
			return "", err
		}
		return s1 + s2, nil
	case l.ThinTag:
		a, err := h.field(p, l.ThinActual)
		if err != nil {
			return "", err
		}
		return h.strDepth(a, limit, depth+1)
	case l.SlicedTag:
		parent, err := h.field(p, l.SlicedParent)
		if err != nil {
			return "", err
		}
		off, err := h.field(p, l.SlicedOffset)
		if err != nil {
			return "", err
		}
		s, err := h.strDepth(parent, int(smi(off))+length, depth+1)
		if err != nil {
			return "", err
		}
		if int(smi(off)) > len(s) {
			return "", errors.New("bad sliced string")
		}
		s = s[smi(off):]
		return s[:min(len(s), length)], nil
	}
	return "", errors.New("external string")
}

func latin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// bytes reads the payload of a ByteArray-shaped object (map, length Smi,
// data): ByteArray, TrustedByteArray.
func (h *heap) bytes(p uint64, limit int) ([]byte, error) {
	if !isHeap(p) {
		return nil, errors.New("no byte array")
	}
	n, err := h.field(p, h.l.FixedArrayLength)
	if err != nil {
		return nil, err
	}
	if !isSmi(n) || smi(n) < 0 || int(smi(n)) > limit {
		return nil, fmt.Errorf("byte array length 0x%x", n)
	}
	b := make([]byte, smi(n))
	if len(b) == 0 {
		return b, nil
	}
	if err := h.read(untag(p)+uint64(h.l.FixedArrayData), b); err != nil {
		return nil, err
	}
	return b, nil
}

// words reads up to limit elements of a FixedArray-shaped object.
func (h *heap) words(p uint64, limit int) ([]uint64, error) {
	if !isHeap(p) {
		return nil, errors.New("no fixed array")
	}
	n, err := h.field(p, h.l.FixedArrayLength)
	if err != nil {
		return nil, err
	}
	if !isSmi(n) || smi(n) < 0 {
		return nil, fmt.Errorf("fixed array length 0x%x", n)
	}
	k := min(int(smi(n)), limit)
	b := make([]byte, 8*k)
	if k > 0 {
		if err := h.read(untag(p)+uint64(h.l.FixedArrayData), b); err != nil {
			return nil, err
		}
	}
	w := make([]uint64, k)
	for i := range w {
		w[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return w, nil
}

// words0 reads the first k words of the object at tagged pointer p, its
// map first.
func (h *heap) words0(p uint64, k int) ([]uint64, error) {
	if !isHeap(p) {
		return nil, errors.New("no heap object")
	}
	b := make([]byte, 8*k)
	if err := h.read(untag(p), b); err != nil {
		return nil, err
	}
	w := make([]uint64, k)
	for i := range w {
		w[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return w, nil
}
