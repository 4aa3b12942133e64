package model

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// stepScan reads one step record in a single pass over its bytes, for the
// check's fast path (checkLines): it takes the record's keys in any order and
// any JSON whitespace, validates what it reads as the decoder does, and keeps
// only what the check needs, without building strings: numbers as uint64s,
// strings as spans of the line with their length in scalar values counted
// during the scan. It reports false for anything it does not take (another
// kind of record, a key it does not know, null, a capped list, a natural of
// 20 digits or more, a repeated key, malformed input), leaving the line to
// the decoder, whose result and message stay the reference: what scan takes,
// the decoder takes alike (a fuzz test checks it).
type stepScan struct {
	seq, t0, t1, tid uint64
	typ              ActionType
	name, author     strSpan
	content, agent   strSpan
	shard            uint64
	items, data      []uint64 // reused from line to line

	// agentRaw is the last agent_id scanned, as written: a valid string,
	// so the same bytes in the next line need no scan. agentSame says the
	// line's agent_id was those bytes.
	agentRaw  []byte
	agentEsc  bool
	agentSame bool
}

// strSpan is a JSON string of the line: [start, end) its bytes as written
// (its opening quote is at start-1), esc whether they hold escapes, and
// skipped the number of those bytes that do not start a scalar value of the
// decoded string (UTF-8 continuation bytes, the rest of an escape, the
// second half of a surrogate pair).
type strSpan struct {
	start, end, skipped int
	esc                 bool
}

// raw returns the string's bytes as written.
func (s strSpan) raw(line []byte) []byte { return line[s.start:s.end] }

// runes is the decoded string's length in scalar values.
func (s strSpan) runes() uint64 { return uint64(s.end - s.start - s.skipped) }

// The members of a step, one bit each: a repeated key is left to the decoder.
const (
	sKind uint32 = 1 << iota
	sSeq
	sT0
	sT1
	sTID
	sAction
	sState
	sType
	sName
	sAuthor
	sContent
	sItems
	sAgent
	sShard
	sData
)

// The keys and values the fast path knows, as little-endian words of their
// first 8 bytes (quotes included), with masks for the shorter ones: a key is
// recognised by one load and one comparison.
var (
	kKind, kSeq, kT0, kT1, kTID, kAction, kState = lw(`"kind"`), lw(`"seq"`), lw(`"t0"`), lw(`"t1"`), lw(`"tid"`), lw(`"action"`), lw(`"state"`)
	kType, kName, kAuthor, kContent, kItems      = lw(`"type"`), lw(`"name"`), lw(`"author"`), lw(`"content"`), lw(`"items"`)
	kAgent, kShard, kData                        = lw(`"agent_id"`), lw(`"shard_id"`), lw(`"data"`)
	kAgent2, kShard2                             = lw(`"agent_id"`[2:]), lw(`"shard_id"`[2:])
	vStep, vPost, vComment, vRegister, vDistrib  = lw(`"step"`), lw(`"post"`), lw(`"comment"`), lw(`"register"`), lw(`"distribute"`)
	vRegister2, vDistrib2                        = lw(`"register"`[2:]), lw(`"distribute"`[4:])
)

// Masks of the first n bytes of a word.
const (
	m4 = 1<<32 - 1
	m5 = 1<<40 - 1
	m6 = 1<<48 - 1
	m7 = 1<<56 - 1
)

// lw is the little-endian word of the first 8 bytes of s (zero-padded).
func lw(s string) uint64 {
	var b [8]byte
	copy(b[:], s)
	return binary.LittleEndian.Uint64(b[:])
}

// word loads the 8 bytes at b[i:], zero-padded at the end of the line.
func word(b []byte, i int) uint64 {
	if len(b)-i >= 8 {
		return binary.LittleEndian.Uint64(b[i:])
	}
	var w [8]byte
	copy(w[:], b[i:])
	return binary.LittleEndian.Uint64(w[:])
}

// scan reads line as a step record; see stepScan. Indexing past the end of
// the line (a record cut short) panics, which scan recovers as "not taken":
// the scanner's loops need no end checks of their own.
func (s *stepScan) scan(b []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	s.items, s.data, s.typ = s.items[:0], s.data[:0], 0
	c, i := next(b, 0)
	if c != '{' {
		return false
	}
	c, i = next(b, i+1)
	var seen uint32
	for {
		if c != '"' {
			return false
		}
		w := word(b, i)
		var f uint32
		switch byte(w >> 8) {
		case 'k':
			if w&m6 == kKind {
				f, i = sKind, colon(b, i+6)
				if i < 0 || word(b, i)&m6 != vStep {
					return false
				}
				i += 6
			}
		case 's':
			if w&m5 == kSeq {
				f, i = sSeq, colon(b, i+5)
				if s.seq, i = scanNat(b, i); s.seq == 0 {
					return false
				}
			} else if w&m7 == kState {
				f, i = sState, s.state(b, colon(b, i+7))
			}
		case 't':
			switch {
			case w&m4 == kT0:
				f, i = sT0, colon(b, i+4)
				s.t0, i = scanNat(b, i)
			case w&m4 == kT1:
				f, i = sT1, colon(b, i+4)
				s.t1, i = scanNat(b, i)
			case w&m5 == kTID:
				f, i = sTID, colon(b, i+5)
				if s.tid, i = scanNat(b, i); s.tid > 1<<62 {
					return false
				}
			}
		case 'a':
			if w == kAction {
				f, i = sAction, s.action(b, colon(b, i+8))
			}
		}
		if f == 0 || seen&f != 0 || i < 0 {
			return false
		}
		seen |= f
		if c, i = next(b, i); c == ',' {
			c, i = next(b, i+1)
			continue
		}
		if c != '}' {
			return false
		}
		break
	}
	const must = sKind | sSeq | sAction | sState
	return seen&must == must && skipMore(b, i+1) == len(b)
}

// action reads the action object at b[i]; it returns the index after it, or
// -1.
func (s *stepScan) action(b []byte, i int) int {
	if i < 0 || b[i] != '{' {
		return -1
	}
	c, i := next(b, i+1)
	var seen uint32
	for {
		if c != '"' {
			return -1
		}
		w := word(b, i)
		var f uint32
		switch byte(w >> 8) {
		case 't':
			if w&m6 == kType {
				f, i = sType, colon(b, i+6)
				if i < 0 {
					return -1
				}
				switch v := word(b, i); {
				case v&m6 == vPost:
					s.typ, i = Post, i+6
				case v == vComment && b[i+8] == '"':
					s.typ, i = Comment, i+9
				case v == vRegister && word(b, i+2) == vRegister2:
					s.typ, i = Register, i+10
				case v == vDistrib && word(b, i+4) == vDistrib2:
					s.typ, i = Distribute, i+12
				default:
					return -1
				}
			}
		case 'n':
			if w&m6 == kName {
				f, i = sName, scanString(b, colon(b, i+6), &s.name)
			}
		case 'a':
			if w == kAuthor {
				f, i = sAuthor, scanString(b, colon(b, i+8), &s.author)
			}
		case 'c':
			if w == kContent && b[i+8] == '"' {
				f, i = sContent, scanString(b, colon(b, i+9), &s.content)
			}
		case 'i':
			if w&m7 == kItems {
				f, i = sItems, colon(b, i+7)
				s.items, i = scanNats(b, i, s.items)
			}
		}
		if f == 0 || seen&f != 0 || i < 0 {
			return -1
		}
		seen |= f
		if c, i = next(b, i); c == ',' {
			c, i = next(b, i+1)
			continue
		}
		if c != '}' {
			return -1
		}
		break
	}
	// Exactly the members of the type: anything else the decoder judges.
	var want uint32
	switch s.typ {
	case Register:
		want = sType | sName
	case Post, Comment:
		want = sType | sAuthor | sContent
	case Distribute:
		want = sType | sItems
	}
	if want == 0 || seen != want {
		return -1
	}
	return i + 1
}

// state reads the state object at b[i]; it returns the index after it, or
// -1. An agent_id written as the last one scanned (agentRaw) is not
// scanned again: the same bytes are the same valid string.
func (s *stepScan) state(b []byte, i int) int {
	if i < 0 || b[i] != '{' {
		return -1
	}
	c, i := next(b, i+1)
	var seen uint32
	for {
		if c != '"' {
			return -1
		}
		w := word(b, i)
		var f uint32
		switch byte(w >> 8) {
		case 'a':
			if w == kAgent && word(b, i+2) == kAgent2 {
				f, i = sAgent, colon(b, i+10)
				r := s.agentRaw
				if s.agentSame = i >= 0 && len(b)-i > len(r)+1 && b[i] == '"' && b[i+1+len(r)] == '"' && string(b[i+1:i+1+len(r)]) == string(r); s.agentSame {
					s.agent = strSpan{start: i + 1, end: i + 1 + len(r), esc: s.agentEsc}
					i += len(r) + 2
				} else if i = scanString(b, i, &s.agent); i >= 0 {
					s.agentRaw, s.agentEsc = append(s.agentRaw[:0], s.agent.raw(b)...), s.agent.esc
				}
			}
		case 's':
			if w == kShard && word(b, i+2) == kShard2 {
				f, i = sShard, colon(b, i+10)
				s.shard, i = scanNat(b, i)
			}
		case 'd':
			if w&m6 == kData {
				f, i = sData, colon(b, i+6)
				s.data, i = scanNats(b, i, s.data)
			}
		}
		if f == 0 || seen&f != 0 || i < 0 {
			return -1
		}
		seen |= f
		if c, i = next(b, i); c == ',' {
			c, i = next(b, i+1)
			continue
		}
		if c != '}' {
			return -1
		}
		break
	}
	if seen != sAgent|sShard|sData {
		return -1
	}
	return i + 1
}

// next returns the first byte at or after b[i] that is not JSON whitespace,
// and its index: none or one space (the compact and the json.dumps
// spellings) costs a comparison or two.
func next(b []byte, i int) (byte, int) {
	c := b[i]
	if c > ' ' {
		return c, i
	}
	if c == ' ' {
		if c = b[i+1]; c > ' ' {
			return c, i + 1
		}
	}
	i = skipMore(b, i)
	return b[i], i
}

// skipMore skips any JSON whitespace at b[i:].
func skipMore(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// colon skips the ':' after a key, with any whitespace around it, and
// returns the index of the value, or -1. ":" and ": " are read in one word.
func colon(b []byte, i int) int {
	if w := word(b, i); byte(w) == ':' {
		if byte(w>>8) > ' ' {
			return i + 1
		}
		if byte(w>>8) == ' ' && byte(w>>16) > ' ' {
			return i + 2
		}
	}
	return colonMore(b, i)
}

// colonMore is colon for other whitespace.
func colonMore(b []byte, i int) int {
	c, i := next(b, i)
	if c != ':' {
		return -1
	}
	_, i = next(b, i+1)
	return i
}

// scanNat reads a natural of plain digits at b[i:]: at most 19 (so below
// 2^64), no leading zero; it returns the index after it, or -1 (with i < 0
// it returns -1). What follows is for the caller to judge (a fraction or an
// exponent is not a separator). Eight bytes are read at once: less '0' in
// every byte, a digit is a byte below 10, the first byte that is not is the
// lowest one marked (borrows and carries only go up), and the digits are
// combined in three multiplications.
func scanNat(b []byte, i int) (uint64, int) {
	if i < 0 || len(b)-i < 8 {
		return scanNatTail(b, i)
	}
	x := binary.LittleEndian.Uint64(b[i:]) - zeros
	if not := (x | (x + 0x7676767676767676)) & highs; not != 0 {
		n := bits.TrailingZeros64(not) >> 3
		if n == 0 || (n > 1 && byte(x) == 0) {
			return 0, -1
		}
		return digitsValue(x << (64 - 8*n)), i + n
	}
	if byte(x) == 0 {
		return 0, -1 // a leading zero
	}
	v, j := digitsValue(x), i+8
	if len(b)-j < 8 {
		return scanNatMore(b, i, j, v)
	}
	x = binary.LittleEndian.Uint64(b[j:]) - zeros
	if not := (x | (x + 0x7676767676767676)) & highs; not != 0 {
		n := bits.TrailingZeros64(not) >> 3
		if n == 0 {
			return v, j
		}
		return v*pow10[n] + digitsValue(x<<(64-8*n)), j + n
	}
	return scanNatMore(b, i, j+8, v*pow10[8]+digitsValue(x))
}

// digitsValue is the value of the 8 decimal digits (0 to 9, not ASCII) in
// the bytes of x, the first in the low byte: pairs, then pairs of pairs,
// then the two halves.
func digitsValue(x uint64) uint64 {
	x = (x*10 + x>>8) & 0x00ff00ff00ff00ff
	x = (x*100 + x>>16) & 0x0000ffff0000ffff
	return (x*10000 + x>>32) & 0xffffffff
}

// scanNatTail is scanNat near the end of the line, a digit at a time.
func scanNatTail(b []byte, i int) (uint64, int) {
	if i < 0 {
		return 0, -1
	}
	return scanNatMore(b, i, i, 0)
}

// scanNatMore reads on the digits at b[j:] of the natural that starts at
// b[i] with value v so far.
func scanNatMore(b []byte, i, j int, v uint64) (uint64, int) {
	for ; j < len(b); j++ {
		d := b[j] - '0'
		if d > 9 {
			break
		}
		v = v*10 + uint64(d)
	}
	if n := j - i; n == 0 || n > 19 || (n > 1 && b[i] == '0') {
		return 0, -1
	}
	return v, j
}

// zeros is '0' in every byte of a word.
const zeros = 0x3030303030303030

// pow10 are the powers of ten up to 10^8.
var pow10 = [9]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// scanNats reads an array of naturals at b[i] into dst[:0]; it returns the
// index after it, or -1.
func scanNats(b []byte, i int, dst []uint64) ([]uint64, int) {
	dst = dst[:0]
	if i < 0 || b[i] != '[' {
		return dst, -1
	}
	c, i := next(b, i+1)
	if c == ']' {
		return dst, i + 1
	}
	for {
		v, j := scanNat(b, i)
		if j < 0 {
			return dst, -1
		}
		dst = append(dst, v)
		if c, i = next(b, j); c == ',' {
			_, i = next(b, i+1)
			continue
		}
		if c != ']' {
			return dst, -1
		}
		return dst, i + 1
	}
}

// unhex maps a hexadecimal digit to its value, anything else to 0xff.
var unhex = func() (t [256]byte) {
	for c := range t {
		switch {
		case c >= '0' && c <= '9':
			t[c] = byte(c - '0')
		case c >= 'a' && c <= 'f':
			t[c] = byte(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			t[c] = byte(c - 'A' + 10)
		default:
			t[c] = 0xff
		}
	}
	return t
}()

// hex4At reads the 4 hexadecimal digits at b[i:]; ok is false if they are
// not all there.
func hex4At(b []byte, i int) (r rune, ok bool) {
	if len(b)-i < 4 {
		return 0, false
	}
	a, c, d, e := unhex[b[i]], unhex[b[i+1]], unhex[b[i+2]], unhex[b[i+3]]
	if (a|c|d|e)&0xf0 != 0 {
		return 0, false
	}
	return rune(a)<<12 | rune(c)<<8 | rune(d)<<4 | rune(e), true
}

// scanString reads the JSON string at b[i] into sp, validating it as the
// decoder does (no control characters, known escapes, valid UTF-8) without
// unescaping it, and counts its scalar values. It returns the index after
// the closing quote, or -1. The scan goes 8 bytes at a time, ASCII or not:
// the first quote, backslash or control character of a word is found
// exactly (the lowest byte the masks of special mark), UTF-8 continuation
// bytes are counted a word at a time, and only a string that holds bytes
// of 0x80 and up is validated as UTF-8 after the scan.
func scanString(b []byte, i int, sp *strSpan) int {
	if i < 0 || b[i] != '"' {
		return -1
	}
	i++
	start, skipped, esc := i, 0, false
	var hi uint64 // the high bits of every byte scanned
	for {
		var c byte
		if len(b)-i >= 8 {
			w := binary.LittleEndian.Uint64(b[i:])
			m := specialMask(w)
			if m == 0 {
				hi |= w
				skipped += bits.OnesCount64(w & highs &^ (w << 1))
				i += 8
				continue
			}
			k := bits.TrailingZeros64(m) >> 3
			w &= 1<<(8*k) - 1 // the plain bytes before it
			hi |= w
			skipped += bits.OnesCount64(w & highs &^ (w << 1))
			i += k
			c = b[i]
		} else {
			if c = b[i]; c >= 0x80 {
				hi |= highs
				if c&0xc0 == 0x80 {
					skipped++
				}
				i++
				continue
			}
			if c != '"' && c != '\\' && c >= 0x20 {
				i++
				continue
			}
		}
		switch {
		case c == '"':
			if hi&highs != 0 && !utf8.Valid(b[start:i]) {
				return -1
			}
			*sp = strSpan{start: start, end: i, skipped: skipped, esc: esc}
			return i + 1
		case c == '\\':
			esc = true
			if i = escape(b, i, &skipped); i < 0 {
				return -1
			}
		default:
			return -1
		}
	}
}

// specialMask marks with its high bit each byte of w that is a quote, a
// backslash or a control character; the lowest mark is exact (higher ones
// may be false).
func specialMask(w uint64) uint64 {
	q := w ^ (ones * '"')
	s := w ^ (ones * '\\')
	return ((q-ones)&^q | (s-ones)&^s | (w-ones*0x20)&^w) & highs
}

// escape reads the escape at b[i], adding to *skipped the bytes of it that
// do not start a scalar value; it returns the index after it, or -1.
func escape(b []byte, i int, skipped *int) int {
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		*skipped++
		return i + 2
	case 'u':
	default:
		return -1
	}
	r, ok := hex4At(b, i+2)
	if !ok {
		return -1
	}
	i += 6
	*skipped += 5
	if r < 0xd800 || r > 0xdfff {
		return i
	}
	// A surrogate: with a low surrogate after a high one it is one scalar
	// value; alone it is U+FFFD, one scalar value. The decoder reads the \u
	// after any surrogate, so a malformed one there is an error even when it
	// would be read on its own.
	if len(b)-i >= 2 && b[i] == '\\' && b[i+1] == 'u' {
		r2, ok := hex4At(b, i+2)
		if !ok {
			return -1
		}
		if r < 0xdc00 && r2 >= 0xdc00 && r2 <= 0xdfff {
			i += 6
			*skipped += 6
		}
	}
	return i
}
