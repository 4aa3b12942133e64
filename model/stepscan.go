package model

import "encoding/binary"

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

// scan reads line as a step record; see stepScan.
func (s *stepScan) scan(b []byte) bool {
	s.items, s.data, s.typ = s.items[:0], s.data[:0], 0
	i := ws(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	var seen uint32
	var ok bool
	i++
	for {
		i = ws(b, i)
		if len(b)-i < 8 || b[i] != '"' {
			return false
		}
		// Each key is compared whole, quotes included, against the keys the
		// fast path knows: a key that is escaped, longer or unknown matches
		// none.
		var f uint32
		switch b[i+1] {
		case 'k':
			if string(b[i:i+6]) == `"kind"` {
				f, i = sKind, i+6
			}
		case 's':
			if string(b[i:i+5]) == `"seq"` {
				f, i = sSeq, i+5
			} else if string(b[i:i+7]) == `"state"` {
				f, i = sState, i+7
			}
		case 't':
			if string(b[i:i+4]) == `"t0"` {
				f, i = sT0, i+4
			} else if string(b[i:i+4]) == `"t1"` {
				f, i = sT1, i+4
			} else if string(b[i:i+5]) == `"tid"` {
				f, i = sTID, i+5
			}
		case 'a':
			if string(b[i:i+8]) == `"action"` {
				f, i = sAction, i+8
			}
		}
		if f == 0 || seen&f != 0 {
			return false
		}
		seen |= f
		if i = ws(b, i); i >= len(b) || b[i] != ':' {
			return false
		}
		i = ws(b, i+1)
		switch f {
		case sKind:
			if len(b)-i < 6 || string(b[i:i+6]) != `"step"` {
				return false
			}
			i += 6
		case sSeq:
			if s.seq, i, ok = scanNat(b, i); !ok || s.seq == 0 {
				return false
			}
		case sT0:
			if s.t0, i, ok = scanNat(b, i); !ok {
				return false
			}
		case sT1:
			if s.t1, i, ok = scanNat(b, i); !ok {
				return false
			}
		case sTID:
			if s.tid, i, ok = scanNat(b, i); !ok || s.tid > 1<<62 {
				return false
			}
		case sAction:
			if i, ok = s.action(b, i); !ok {
				return false
			}
		case sState:
			if i, ok = s.state(b, i); !ok {
				return false
			}
		}
		if i = ws(b, i); i >= len(b) {
			return false
		}
		if b[i] == ',' {
			i++
			continue
		}
		if b[i] != '}' {
			return false
		}
		break
	}
	const must = sKind | sSeq | sAction | sState
	return seen&must == must && ws(b, i+1) == len(b)
}

// action reads the action object at b[i].
func (s *stepScan) action(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '{' {
		return i, false
	}
	var seen uint32
	var ok bool
	i++
	for {
		i = ws(b, i)
		if len(b)-i < 8 || b[i] != '"' {
			return i, false
		}
		var f uint32
		switch b[i+1] {
		case 't':
			if string(b[i:i+6]) == `"type"` {
				f, i = sType, i+6
			}
		case 'n':
			if string(b[i:i+6]) == `"name"` {
				f, i = sName, i+6
			}
		case 'a':
			if string(b[i:i+8]) == `"author"` {
				f, i = sAuthor, i+8
			}
		case 'c':
			if len(b)-i >= 9 && string(b[i:i+9]) == `"content"` {
				f, i = sContent, i+9
			}
		case 'i':
			if string(b[i:i+7]) == `"items"` {
				f, i = sItems, i+7
			}
		}
		if f == 0 || seen&f != 0 {
			return i, false
		}
		seen |= f
		if i = ws(b, i); i >= len(b) || b[i] != ':' {
			return i, false
		}
		i = ws(b, i+1)
		switch f {
		case sType:
			switch {
			case len(b)-i >= 6 && string(b[i:i+6]) == `"post"`:
				s.typ, i = Post, i+6
			case len(b)-i >= 9 && string(b[i:i+9]) == `"comment"`:
				s.typ, i = Comment, i+9
			case len(b)-i >= 12 && string(b[i:i+12]) == `"distribute"`:
				s.typ, i = Distribute, i+12
			case len(b)-i >= 10 && string(b[i:i+10]) == `"register"`:
				s.typ, i = Register, i+10
			default:
				return i, false
			}
		case sName:
			i, ok = scanString(b, i, &s.name)
		case sAuthor:
			i, ok = scanString(b, i, &s.author)
		case sContent:
			i, ok = scanString(b, i, &s.content)
		case sItems:
			s.items, i, ok = scanNats(b, i, s.items)
		}
		if !ok && f != sType {
			return i, false
		}
		if i = ws(b, i); i >= len(b) {
			return i, false
		}
		if b[i] == ',' {
			i++
			continue
		}
		if b[i] != '}' {
			return i, false
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
	return i + 1, want != 0 && seen == want
}

// state reads the state object at b[i].
func (s *stepScan) state(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '{' {
		return i, false
	}
	var seen uint32
	var ok bool
	i++
	for {
		i = ws(b, i)
		if len(b)-i < 8 || b[i] != '"' {
			return i, false
		}
		var f uint32
		switch b[i+1] {
		case 'a':
			if len(b)-i >= 10 && string(b[i:i+10]) == `"agent_id"` {
				f, i = sAgent, i+10
			}
		case 's':
			if len(b)-i >= 10 && string(b[i:i+10]) == `"shard_id"` {
				f, i = sShard, i+10
			}
		case 'd':
			if string(b[i:i+6]) == `"data"` {
				f, i = sData, i+6
			}
		}
		if f == 0 || seen&f != 0 {
			return i, false
		}
		seen |= f
		if i = ws(b, i); i >= len(b) || b[i] != ':' {
			return i, false
		}
		i = ws(b, i+1)
		switch f {
		case sAgent:
			i, ok = scanString(b, i, &s.agent)
		case sShard:
			s.shard, i, ok = scanNat(b, i)
		case sData:
			s.data, i, ok = scanNats(b, i, s.data)
		}
		if !ok {
			return i, false
		}
		if i = ws(b, i); i >= len(b) {
			return i, false
		}
		if b[i] == ',' {
			i++
			continue
		}
		if b[i] != '}' {
			return i, false
		}
		break
	}
	return i + 1, seen == sAgent|sShard|sData
}

// ws skips JSON whitespace; the common case, no space, is one comparison.
func ws(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && isSpace(b[i]) {
		i++
	}
	return i
}

// scanNat reads a natural of plain digits at b[i:]: at most 19 (so below
// 2^64), no leading zero. What follows is for the caller to judge (a
// fraction or an exponent is not a separator).
func scanNat(b []byte, i int) (v uint64, j int, ok bool) {
	j = i
	if len(b)-j >= 8 { // 8 digits at once (times, large data)
		if w := binary.LittleEndian.Uint64(b[j:]); digits8(w) {
			v, j = eightDigits(w), j+8
		}
	}
	for j < len(b) && b[j]-'0' < 10 {
		v = v*10 + uint64(b[j]-'0')
		j++
	}
	n := j - i
	return v, j, n > 0 && n <= 19 && (n == 1 || b[i] != '0')
}

// scanNats reads an array of naturals at b[i] into dst[:0].
func scanNats(b []byte, i int, dst []uint64) ([]uint64, int, bool) {
	dst = dst[:0]
	if i >= len(b) || b[i] != '[' {
		return dst, i, false
	}
	if i = ws(b, i+1); i < len(b) && b[i] == ']' {
		return dst, i + 1, true
	}
	for {
		v, j, ok := scanNat(b, i)
		if !ok {
			return dst, j, false
		}
		dst = append(dst, v)
		if j < len(b) && b[j] == ',' { // the common case, no space
			i = ws(b, j+1)
			continue
		}
		if i = ws(b, j); i >= len(b) {
			return dst, i, false
		}
		switch b[i] {
		case ',':
			i = ws(b, i+1)
		case ']':
			return dst, i + 1, true
		default:
			return dst, i, false
		}
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
// the closing quote.
func scanString(b []byte, i int, sp *strSpan) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
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
		// Then byte by byte up to the next plain ASCII byte.
		for {
			if i >= len(b) {
				return i, false
			}
			c := b[i]
			if c >= 0x80 {
				n, ok := utf8Seq(b, i)
				if !ok {
					return i, false
				}
				i, skipped = i+n, skipped+n-1
				continue
			}
			if c == '"' {
				*sp = strSpan{start: start, end: i, skipped: skipped, esc: esc}
				return i + 1, true
			}
			if c < 0x20 {
				return i, false
			}
			if c != '\\' {
				i++
				break
			}
			esc = true
			if i+1 >= len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i, skipped = i+2, skipped+1
				continue
			case 'u':
			default:
				return i, false
			}
			r, ok := hex4At(b, i+2)
			if !ok {
				return i, false
			}
			i, skipped = i+6, skipped+5
			if r < 0xd800 || r > 0xdfff {
				continue
			}
			// A surrogate: with a low surrogate after a high one it is one
			// scalar value; alone it is U+FFFD, one scalar value. The
			// decoder reads the \u after any surrogate, so a malformed one
			// there is an error even when it would be read on its own.
			if len(b)-i >= 2 && b[i] == '\\' && b[i+1] == 'u' {
				r2, ok := hex4At(b, i+2)
				if !ok {
					return i, false
				}
				if r < 0xdc00 && r2 >= 0xdc00 && r2 <= 0xdfff {
					i, skipped = i+6, skipped+6
				}
			}
		}
	}
}

// utf8Seq validates the UTF-8 sequence at b[i] (whose first byte is not
// ASCII) as utf8.Valid does, and returns its length.
func utf8Seq(b []byte, i int) (int, bool) {
	c := b[i]
	switch {
	case c < 0xc2:
		return 0, false
	case c < 0xe0:
		return 2, len(b)-i >= 2 && b[i+1]&0xc0 == 0x80
	case c < 0xf0:
		if len(b)-i < 3 {
			return 0, false
		}
		lo, hi := byte(0x80), byte(0xbf)
		if c == 0xe0 {
			lo = 0xa0
		} else if c == 0xed {
			hi = 0x9f
		}
		c1 := b[i+1]
		return 3, c1 >= lo && c1 <= hi && b[i+2]&0xc0 == 0x80
	case c < 0xf5:
		if len(b)-i < 4 {
			return 0, false
		}
		lo, hi := byte(0x80), byte(0xbf)
		if c == 0xf0 {
			lo = 0x90
		} else if c == 0xf4 {
			hi = 0x8f
		}
		c1 := b[i+1]
		return 4, c1 >= lo && c1 <= hi && b[i+2]&0xc0 == 0x80 && b[i+3]&0xc0 == 0x80
	}
	return 0, false
}
