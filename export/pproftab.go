package export

import (
	"math/bits"
	"unsafe"

	"github.com/tracer-dev/tracer/symbolize"
)

// slots is an open-addressing hash index (linear probing) over entries
// kept in a slice elsewhere. A slot holds the top 32 bits of its entry's
// hash and the entry's index + 1; 0 is a free slot. Entries are never
// removed. It holds no pointers, so the collector never scans it, and
// costs 8 bytes an entry where a Go map of the same keys costs several
// times that.
type slots struct {
	s    []uint64
	used int
}

// init sizes the index for about n entries.
func (t *slots) init(n int) {
	size := 64
	for size < n {
		size <<= 1
	}
	t.s = make([]uint64, size)
	t.used = 0
}

// first is where the probe for hash h starts.
func (t *slots) first(h uint64) int { return int(h) & (len(t.s) - 1) }

// next is the slot after i.
func (t *slots) next(i int) int { return (i + 1) & (len(t.s) - 1) }

// entry reads slot i: the index of its entry and whether it holds one of
// hash h (a slot of another hash or a free one says false; the caller
// stops at a free one, whose slot value is 0).
func (t *slots) entry(i int, h uint64) (int, bool) {
	v := t.s[i]
	return int(uint32(v)) - 1, v != 0 && v>>32 == h>>32
}

// reset empties the index and sizes it for n entries, which it then holds
// without growing; it keeps its memory when that is enough.
func (t *slots) reset(n int) {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	if size <= cap(t.s) {
		t.s = t.s[:size]
		clear(t.s)
	} else {
		t.s = make([]uint64, size)
	}
	t.used = 0
}

// put stores entry e of hash h in the free slot i found by the probe, and
// grows the index when it is half full; hash gives the hash of entry j
// (it is not called when the index was reset for as many entries as it
// holds).
func (t *slots) put(i int, h uint64, e int, hash func(j int) uint64) {
	t.s[i] = h>>32<<32 | uint64(uint32(e+1))
	t.used++
	if 2*t.used <= len(t.s) {
		return
	}
	old := t.s
	t.s = make([]uint64, 2*len(old))
	for _, v := range old {
		if v == 0 {
			continue
		}
		j := t.first(hash(int(uint32(v)) - 1))
		for t.s[j] != 0 {
			j = t.next(j)
		}
		t.s[j] = v
	}
}

// free says whether slot i holds no entry.
func (t *slots) free(i int) bool { return t.s[i] == 0 }

// Multipliers of the hashes below (odd, with well-spread bits).
const (
	mulA = 0x9e3779b97f4a7c15
	mulB = 0xbf58476d1ce4e5b9
	mulC = 0x94d049bb133111eb
	mulD = 0xd6e8feb86659fd93
)

// fmix finishes a hash so that every bit of the input reaches the low
// bits, which pick the slot.
func fmix(h uint64) uint64 {
	h ^= h >> 33
	h *= mulB
	h ^= h >> 29
	h *= mulC
	h ^= h >> 32
	return h
}

func strPtr(s string) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.StringData(s)))) }

// stackHash hashes a stack by the identity of its function names (their
// addresses and lengths) and its numbers: the symbolizer hands out the same
// strings for the same function, so equal stacks hash alike in a few
// instructions a frame (a file or module cannot differ where the function
// and the address are the same but in a hash collision, which
// framesEqual settles). Equal stacks whose strings live apart get entries of their own,
// which point to the same stack (pprofBuilder.stack).
func stackHash(pid int, st []symbolize.Frame) uint64 {
	h := uint64(pid)*mulA + uint64(len(st))
	for i := range st {
		f := &st[i]
		v := (strPtr(f.Function)+uint64(len(f.Function)))*mulA ^ (f.Addr^uint64(f.Line)<<40^uint64(f.Kind)<<58)*mulD
		h = bits.RotateLeft64((h^v)*mulA, 29)
	}
	return fmix(h)
}

// sameString is a == b, deciding at once for the same string.
func sameString(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

// framesEqual says whether two stacks are the same frames.
func framesEqual(a, b []symbolize.Frame) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.Addr != y.Addr || x.Line != y.Line || x.Kind != y.Kind ||
			!sameString(x.Function, y.Function) || !sameString(x.File, y.File) || !sameString(x.Module, y.Module) {
			return false
		}
	}
	return true
}

// hash hashes the key of a sample.
func (k *sampleKey) hash() uint64 {
	h := (uint64(uint32(k.stack)) | uint64(uint32(k.tid))<<32) * mulA
	h ^= (k.step ^ uint64(uint32(k.pid))<<40) * mulB
	h ^= (uint64(uint32(k.comm)) | uint64(uint32(k.action))<<32) * mulD
	return fmix(h)
}
