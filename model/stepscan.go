package model

import (
	"encoding/binary"
	"math/bits"
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
	i := skip(b, 0)
	if b[i] != '{' {
		return false
	}
	i = skip(b, i+1)
	var seen uint32
	for {
		if b[i] != '"' {
			return false
		}
		w := word(b, i)
		var f uint32
		switch b[i+1] {
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
		if i = skip(b, i); b[i] == ',' {
			i = skip(b, i+1)
			continue
		}
		if b[i] != '}' {
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
	i = skip(b, i+1)
	var seen uint32
	for {
		if b[i] != '"' {
			return -1
		}
		w := word(b, i)
		var f uint32
		switch b[i+1] {
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
		if i = skip(b, i); b[i] == ',' {
			i = skip(b, i+1)
			continue
		}
		if b[i] != '}' {
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
// -1.
func (s *stepScan) state(b []byte, i int) int {
	if i < 0 || b[i] != '{' {
		return -1
	}
	i = skip(b, i+1)
	var seen uint32
	for {
		if b[i] != '"' {
			return -1
		}
		w := word(b, i)
		var f uint32
		switch b[i+1] {
		case 'a':
			if w == kAgent && word(b, i+2) == kAgent2 {
				f, i = sAgent, scanString(b, colon(b, i+10), &s.agent)
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
		if i = skip(b, i); b[i] == ',' {
			i = skip(b, i+1)
			continue
		}
		if b[i] != '}' {
			return -1
		}
		break
	}
	if seen != sAgent|sShard|sData {
		return -1
	}
	return i + 1
}

// skip skips JSON whitespace at b[i]: none or one space (the compact and
// the json.dumps spellings) costs a comparison or two.
func skip(b []byte, i int) int {
	if b[i] == ' ' {
		i++
	}
	if b[i] > ' ' {
		return i
	}
	return skipMore(b, i)
}

// skipMore skips any JSON whitespace at b[i:].
func skipMore(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// colon skips the ':' after a key, with any whitespace around it, and
// returns the index of the value, or -1.
func colon(b []byte, i int) int {
	if b[i] != ':' {
		if i = skipMore(b, i); b[i] != ':' {
			return -1
		}
	}
	return skip(b, i+1)
}

// Word-at-a-time digits: the high nibbles of the bytes, and 6 to add to
// each (a digit stays below 0x40).
const (
	nibbles = 0xf0f0f0f0f0f0f0f0
	zeros   = 0x3030303030303030
	sixes   = 0x0606060606060606
)

// pow10 are the powers of ten up to 10^8.
var pow10 = [9]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// scanNat reads a natural of plain digits at b[i:]: at most 19 (so below
// 2^64), no leading zero; it returns the index after it, or -1 (with i < 0
// it returns -1). What follows is for the caller to judge (a fraction or an
// exponent is not a separator). Eight bytes are classified at once: the
// count of leading digits is the trailing zero bytes of a word that marks
// the bytes that are not digits.
func scanNat(b []byte, i int) (uint64, int) {
	if i < 0 {
		return 0, -1
	}
	j := i
	var v uint64
	for len(b)-j >= 8 {
		w := binary.LittleEndian.Uint64(b[j:])
		not := (w&nibbles ^ zeros) | ((w+sixes)&nibbles ^ zeros)
		n := bits.TrailingZeros64(not) >> 3
		if n < 8 {
			// Shift the digits to the top and fill the bottom with '0':
			// leading zeros that do not change the value.
			v = v*pow10[n] + eightDigits(w<<(64-8*n)|zeros>>(8*n))
			j += n
			return natEnd(b, i, j, v)
		}
		v = v*pow10[8] + eightDigits(w)
		if j += 8; j-i > 19 {
			return 0, -1
		}
	}
	for j < len(b) && b[j]-'0' < 10 {
		v = v*10 + uint64(b[j]-'0')
		j++
	}
	return natEnd(b, i, j, v)
}

// natEnd checks the digits b[i:j] of v: some, at most 19, no leading zero.
func natEnd(b []byte, i, j int, v uint64) (uint64, int) {
	if n := j - i; n == 0 || n > 19 || (n > 1 && b[i] == '0') {
		return 0, -1
	}
	return v, j
}

// scanNats reads an array of naturals at b[i] into dst[:0]; it returns the
// index after it, or -1.
func scanNats(b []byte, i int, dst []uint64) ([]uint64, int) {
	dst = dst[:0]
	if i < 0 || b[i] != '[' {
		return dst, -1
	}
	if i = skip(b, i+1); b[i] == ']' {
		return dst, i + 1
	}
	for {
		v, j := scanNat(b, i)
		if j < 0 {
			return dst, -1
		}
		dst = append(dst, v)
		if i = skip(b, j); b[i] == ',' {
			i = skip(b, i+1)
			continue
		}
		if b[i] != ']' {
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
// the closing quote, or -1.
func scanString(b []byte, i int, sp *strSpan) int {
	if i < 0 || b[i] != '"' {
		return -1
	}
	i++
	start, skipped, esc := i, 0, false
	for {
		// Plain ASCII 8 bytes at a time.
		for len(b)-i >= 8 {
			w := binary.LittleEndian.Uint64(b[i:])
			if w&highs != 0 || special(w) {
				break
			}
			i += 8
		}
		// Then one by one up to the next plain ASCII byte.
		for {
			c := b[i]
			if c >= 0x80 {
				n := utf8Seq(b, i)
				if n == 0 {
					return -1
				}
				i, skipped = i+n, skipped+n-1
				continue
			}
			if c == '\\' {
				esc = true
				if i = escape(b, i, &skipped); i < 0 {
					return -1
				}
				continue
			}
			if c == '"' {
				*sp = strSpan{start: start, end: i, skipped: skipped, esc: esc}
				return i + 1
			}
			if c < 0x20 {
				return -1
			}
			i++
			break
		}
	}
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

// utf8Seq validates the UTF-8 sequence at b[i] (whose first byte is not
// ASCII) as utf8.Valid does, and returns its length, or 0 when it is not
// valid.
func utf8Seq(b []byte, i int) int {
	c := b[i]
	switch {
	case c < 0xc2:
		return 0
	case c < 0xe0:
		if len(b)-i >= 2 && b[i+1]&0xc0 == 0x80 {
			return 2
		}
	case c < 0xf0:
		if len(b)-i < 3 {
			return 0
		}
		lo, hi := byte(0x80), byte(0xbf)
		if c == 0xe0 {
			lo = 0xa0
		} else if c == 0xed {
			hi = 0x9f
		}
		if c1 := b[i+1]; c1 >= lo && c1 <= hi && b[i+2]&0xc0 == 0x80 {
			return 3
		}
	case c < 0xf5:
		if len(b)-i < 4 {
			return 0
		}
		lo, hi := byte(0x80), byte(0xbf)
		if c == 0xf0 {
			lo = 0x90
		} else if c == 0xf4 {
			hi = 0x8f
		}
		if c1 := b[i+1]; c1 >= lo && c1 <= hi && b[i+2]&0xc0 == 0x80 && b[i+3]&0xc0 == 0x80 {
			return 4
		}
	}
	return 0
}
