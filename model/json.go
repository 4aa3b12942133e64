package model

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// parser is a small JSON scanner over one line. It is hand-written for speed on
// the trace-format shape (decoding a record allocates only its strings), but it
// accepts and validates all of JSON (RFC 8259): unknown fields are skipped,
// escapes and surrogate pairs are decoded, invalid UTF-8 is rejected.
type parser struct {
	b       []byte
	i       int
	scratch []byte // unescaped string bytes

	// The last strings decoded for these fields: consecutive records mostly
	// repeat them, and intern then reuses the string instead of allocating.
	lastAgent, lastName, lastAuthor, lastImpl string

	ascii    bool              // the last string scanned is ASCII
	arena    []byte            // see arenaString
	interned map[string]string // see internStr
	general  int               // lines left to decodeGeneral (see decodeInto)
}

// maxDepth bounds the nesting of skipped values.
const maxDepth = 256

// errSyntax makes a "not JSON" error at the current column.
func (p *parser) errSyntax(what string) error {
	return fmt.Errorf("not JSON: %s at column %d", what, p.i+1)
}

// unexpected describes the byte at the cursor for an error message.
func (p *parser) unexpected() error {
	if p.i >= len(p.b) {
		return p.errSyntax("unexpected end of line")
	}
	c := p.b[p.i]
	if c >= 0x20 && c < 0x7f {
		return p.errSyntax(fmt.Sprintf("unexpected %q", rune(c)))
	}
	return p.errSyntax(fmt.Sprintf("unexpected byte 0x%02x", c))
}

func (p *parser) ws() {
	if p.i < len(p.b) && p.b[p.i] > ' ' { // the common case: no space
		return
	}
	p.wsSlow()
}

// wsSlow skips JSON whitespace; one space (what json.dumps writes after ':'
// and ',') is taken without a loop.
func (p *parser) wsSlow() {
	if p.i+1 < len(p.b) && p.b[p.i] == ' ' && p.b[p.i+1] > ' ' {
		p.i++
		return
	}
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte (0 at the end) without consuming it.
func (p *parser) peek() byte {
	p.ws()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// expect consumes c after optional space.
func (p *parser) expect(c byte) error {
	if p.peek() != c {
		return p.unexpected()
	}
	p.i++
	return nil
}

// member advances to the next member of an object whose '{' has been
// consumed: it returns the key with the cursor on the value, or ok=false after
// the closing '}'. first is true for the first call on an object. The key
// aliases the line or the scratch buffer: use it before parsing the value.
func (p *parser) member(first bool) (key []byte, ok bool, err error) {
	return p.memberGuess(first, "")
}

// memberGuess is member with a guess at the key: the decoders guess the key
// that follows the last one in the order of docs/trace-format.md, and a right
// guess is taken by one comparison instead of a scan. A wrong guess costs
// that comparison only; any key in any order is still read.
func (p *parser) memberGuess(first bool, guess string) (key []byte, ok bool, err error) {
	b, i := p.b, p.i
	// The common spellings without calls: no space or one space around the
	// separators.
	if i < len(b) && b[i] == ' ' {
		i++
	}
	if i < len(b) && b[i] <= ' ' { // other whitespace
		p.i = i
		p.ws()
		i = p.i
	}
	if i >= len(b) {
		p.i = i
		return nil, false, p.unexpected()
	}
	switch c := b[i]; {
	case c == '}':
		p.i = i + 1
		return nil, false, nil
	case c == ',' && !first:
		i++
		if i < len(b) && b[i] == ' ' {
			i++
		}
	case !first:
		p.i = i
		return nil, false, p.unexpected()
	}
	if i >= len(b) || b[i] > ' ' && b[i] != '"' {
		p.i = i
		return nil, false, p.unexpected()
	}
	if b[i] != '"' { // other whitespace
		p.i = i
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, false, p.unexpected()
		}
		i = p.i
	}
	if g := len(guess); i+g+2 <= len(b) && b[i+g+1] == '"' && string(b[i+1:i+1+g]) == guess {
		key = b[i+1 : i+1+g]
		i += g + 2
	} else {
		p.i = i
		if key, err = p.key(); err != nil {
			return nil, false, err
		}
		i = p.i
	}
	if i < len(b) && b[i] == ':' {
		i++
	} else if i+1 < len(b) && b[i] == ' ' && b[i+1] == ':' {
		i += 2
	} else {
		p.i = i
		if err := p.expect(':'); err != nil {
			return nil, false, err
		}
		i = p.i
	}
	if i < len(b) && b[i] == ' ' {
		i++
	}
	p.i = i
	p.ws()
	return key, true, nil
}

// key parses an object key with the cursor on its opening quote. Keys are
// short and plain ASCII: a byte loop finds the closing quote; anything else
// (an escape, a control character, non-ASCII) goes through strq.
func (p *parser) key() ([]byte, error) {
	b := p.b
	for i := p.i + 1; i < len(b); i++ {
		c := b[i]
		if c == '"' {
			k := b[p.i+1 : i]
			p.i = i + 1
			return k, nil
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			break
		}
	}
	return p.strq()
}

// null consumes a JSON null if one is next.
func (p *parser) null() bool {
	if p.i < len(p.b) && p.b[p.i] != 'n' { // the common case
		return false
	}
	if p.peek() == 'n' && len(p.b)-p.i >= 4 && string(p.b[p.i:p.i+4]) == "null" {
		p.i += 4
		return true
	}
	return false
}

// strPlain marks the bytes that may stand in a string unescaped: all but the
// quote, the backslash and control characters. Bytes of 0x80 and up are
// plain to the scan; the string is checked for valid UTF-8 after it.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x100; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str parses a string at the cursor. The result aliases the line or the
// scratch buffer; it is valid until the next call.
func (p *parser) str() ([]byte, error) {
	if p.peek() != '"' {
		return nil, p.unexpected()
	}
	return p.strq()
}

// Word-at-a-time masks for the string scan.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special reports (with rare false positives, never false negatives) whether
// any of the 8 bytes in w is a quote, a backslash or a control character: the
// classic "has zero byte" and "has byte less than" tricks. Bytes of 0x80 and
// up never match (their high bit is masked off by the &^ terms).
func special(w uint64) bool {
	q := w ^ (ones * '"')
	s := w ^ (ones * '\\')
	return ((q-ones)&^q|(s-ones)&^s|(w-ones*0x20)&^w)&highs != 0
}

// strq is str with the cursor on the opening quote. The scan goes 8 bytes at
// a time over plain bytes, ASCII or not; hi collects their high bits, so
// UTF-8 validation runs only on strings that are not ASCII.
func (p *parser) strq() ([]byte, error) {
	p.i++
	b := p.b
	start := p.i
	i := p.i
	var hi uint64
	for {
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			if special(w) {
				break
			}
			hi |= w
			i += 8
		}
		end := min(i+8, len(b))
		for i < end && strPlain[b[i]] {
			hi |= uint64(b[i])
			i++
		}
		if i == end {
			if i >= len(b) {
				p.i = i
				return nil, p.errSyntax("unterminated string")
			}
			continue // a false positive of special
		}
		switch b[i] {
		case '"':
			s := b[start:i]
			p.i = i + 1
			p.ascii = hi&highs == 0
			if !p.ascii && !utf8.Valid(s) {
				return nil, errors.New("string is not valid UTF-8: a trace is UTF-8 text")
			}
			return s, nil
		case '\\':
			p.i = i
			return p.strEscaped(start, hi&highs != 0)
		default:
			p.i = i
			return nil, p.errSyntax("control character in string")
		}
	}
}

// strEscaped finishes a string that contains escapes, from start (just after
// the opening quote), unescaping into p.scratch. raw says whether a byte
// before the cursor is not ASCII. Only raw bytes need UTF-8 validation: what
// an escape decodes to is valid by construction.
func (p *parser) strEscaped(start int, raw bool) ([]byte, error) {
	out := append(p.scratch[:0], p.b[start:p.i]...)
	ascii := !raw
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			p.scratch = out
			p.ascii = ascii
			if raw && !utf8.Valid(out) {
				return nil, errors.New("string is not valid UTF-8: a trace is UTF-8 text")
			}
			return out, nil
		case c < 0x20:
			return nil, p.errSyntax("control character in string")
		case c != '\\':
			j := p.i + 1
			for j < len(p.b) && strPlain[p.b[j]] {
				j++
			}
			for _, c := range p.b[p.i:j] {
				if c >= utf8.RuneSelf {
					raw = true
					break
				}
			}
			ascii = ascii && !raw
			out = append(out, p.b[p.i:j]...)
			p.i = j
			continue
		}
		if p.i+1 >= len(p.b) {
			return nil, p.errSyntax("unterminated string")
		}
		e := p.b[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, err := p.hex4()
			if err != nil {
				return nil, err
			}
			if utf16.IsSurrogate(r) {
				// A high surrogate followed by a low one is one scalar value;
				// a lone surrogate (which no Lean String can hold) becomes
				// U+FFFD, one scalar value, as Python's len also counts it.
				r2 := rune(-1)
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					if r2, err = p.hex4(); err != nil {
						return nil, err
					}
					if utf16.DecodeRune(r, r2) == utf8.RuneError {
						p.i, r2 = save, -1
					}
				}
				if r2 >= 0 {
					r = utf16.DecodeRune(r, r2)
				} else {
					r = utf8.RuneError
				}
			}
			if r >= utf8.RuneSelf {
				ascii = false
			}
			out = utf8.AppendRune(out, r)
		default:
			p.i--
			return nil, p.errSyntax(fmt.Sprintf("bad escape \\%c", e))
		}
	}
	return nil, p.errSyntax("unterminated string")
}

func (p *parser) hex4() (rune, error) {
	if len(p.b)-p.i < 4 {
		return 0, p.errSyntax("short \\u escape")
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, p.errSyntax("bad \\u escape")
		}
	}
	p.i += 4
	return r, nil
}

// number scans a JSON number and reports its parts: the integer digits, and
// whether it had a minus sign or a fraction/exponent.
func (p *parser) number() (digits []byte, neg, frac bool, err error) {
	p.ws()
	b := p.b
	i := p.i
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	ds := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	digits = b[ds:i]
	if len(digits) == 0 {
		return nil, false, false, p.unexpected()
	}
	if len(digits) > 1 && digits[0] == '0' {
		p.i = ds
		return nil, false, false, p.errSyntax("number with a leading zero")
	}
	if i < len(b) && b[i] == '.' {
		frac = true
		i++
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == s {
			p.i = i
			return nil, false, false, p.errSyntax("number without fraction digits")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		frac = true
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == s {
			p.i = i
			return nil, false, false, p.errSyntax("number without exponent digits")
		}
	}
	p.i = i
	return digits, neg, frac, nil
}

// nat parses a natural number; field names it in errors. The fast path reads
// up to 19 plain digits into a uint64 with no allocation.
func (p *parser) nat(field string, index int) (Nat, error) {
	b := p.b
	i := p.i
	var v uint64
	if i+8 <= len(b) { // 8 digits at a time while they last (times, large data)
		if w := binary.LittleEndian.Uint64(b[i:]); digits8(w) && b[i] != '0' {
			v, i = eightDigits(w), i+8
			if i+8 <= len(b) {
				if w = binary.LittleEndian.Uint64(b[i:]); digits8(w) {
					v, i = v*100000000+eightDigits(w), i+8
				}
			}
		}
	}
	for i < len(b) {
		c := b[i]
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + uint64(c-'0')
		i++
	}
	n := i - p.i
	if n > 0 && n <= 19 && (n == 1 || b[p.i] != '0') &&
		(i == len(b) || (b[i] != '.' && b[i] != 'e' && b[i] != 'E')) {
		p.i = i
		return Nat{small: v}, nil
	}
	if c := p.peek(); c != '-' && (c < '0' || c > '9') {
		if err := p.skip(0); err != nil {
			return Nat{}, err
		}
		return Nat{}, fmt.Errorf("%s: want a natural number", fieldName(field, index))
	}
	start := p.i
	digits, neg, frac, err := p.number()
	if err != nil {
		return Nat{}, err
	}
	if neg || frac {
		what := "is negative"
		if frac {
			what = "is not a whole number"
		}
		return Nat{}, fmt.Errorf("%s: %s %s: a Nat is written as plain digits", fieldName(field, index), p.b[start:p.i], what)
	}
	return natFromDigits(digits), nil
}

// digits8 reports whether all 8 bytes of w are ASCII digits.
func digits8(w uint64) bool {
	return w&(w+0x0606060606060606)&0xf0f0f0f0f0f0f0f0 == 0x3030303030303030
}

// eightDigits converts 8 ASCII digits, the first in the low byte of w:
// pairs of digits, then pairs of pairs, then the two halves, each step one
// multiplication.
func eightDigits(w uint64) uint64 {
	w = (w & 0x0f0f0f0f0f0f0f0f) * (10<<8 + 1) >> 8
	w = (w & 0x00ff00ff00ff00ff) * (100<<16 + 1) >> 16
	return (w & 0x0000ffff0000ffff) * (10000<<32 + 1) >> 32
}

// fieldName renders a field and, when index >= 0, an index into it.
func fieldName(field string, index int) string {
	if index < 0 {
		return field
	}
	return fmt.Sprintf("%s[%d]", field, index)
}

// u64 parses a natural number that must fit in 64 bits (seq, times, ids).
func (p *parser) u64(field string) (uint64, error) {
	n, err := p.nat(field, -1)
	if err != nil {
		return 0, err
	}
	v, ok := n.Uint64()
	if !ok {
		return 0, fmt.Errorf("%s: %s is larger than 2^64-1", field, n)
	}
	return v, nil
}

// boolean parses true or false.
func (p *parser) boolean(field string) (bool, error) {
	p.ws()
	rest := p.b[p.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		p.i += 4
		return true, nil
	case len(rest) >= 5 && string(rest[:5]) == "false":
		p.i += 5
		return false, nil
	}
	if len(rest) > 0 && (rest[0] == 't' || rest[0] == 'f') {
		return false, p.unexpected()
	}
	if err := p.skip(0); err != nil {
		return false, err
	}
	return false, fmt.Errorf("%s: want true or false", field)
}

// natList parses an array of naturals into dst[:0].
func (p *parser) natList(dst []Nat, field string) ([]Nat, error) {
	if p.peek() != '[' {
		if err := p.skip(0); err != nil {
			return dst, err
		}
		return dst, fmt.Errorf("%s: want an array of natural numbers", field)
	}
	p.i++
	dst = dst[:0]
	if p.peek() == ']' {
		p.i++
		return dst, nil
	}
	b := p.b
	for {
		// The common case: plain digits (at most 19, no leading zero) and
		// then ',' or ']'.
		i, j := p.i, p.i
		var v uint64
		for j < len(b) && b[j]-'0' < 10 {
			v = v*10 + uint64(b[j]-'0')
			j++
		}
		if n := j - i; n > 0 && n <= 19 && (n == 1 || b[i] != '0') && j < len(b) && (b[j] == ',' || b[j] == ']') {
			dst = append(dst, Nat{small: v})
			p.i = j + 1
			if b[j] == ']' {
				return dst, nil
			}
			p.ws()
			continue
		}
		p.ws()
		n, err := p.nat(field, len(dst))
		if err != nil {
			return dst, err
		}
		dst = append(dst, n)
		if p.i < len(p.b) && p.b[p.i] == ',' { // the common case, no space
			p.i++
			continue
		}
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return dst, nil
		default:
			return dst, p.unexpected()
		}
	}
}

// skip consumes any JSON value, validating it.
func (p *parser) skip(depth int) error {
	if depth > maxDepth {
		return p.errSyntax("nesting too deep")
	}
	switch c := p.peek(); {
	case c == '"':
		_, err := p.str()
		return err
	case c == '{':
		p.i++
		for first := true; ; first = false {
			_, ok, err := p.member(first)
			if err != nil || !ok {
				return err
			}
			if err := p.skip(depth + 1); err != nil {
				return err
			}
		}
	case c == '[':
		p.i++
		if p.peek() == ']' {
			p.i++
			return nil
		}
		for {
			if err := p.skip(depth + 1); err != nil {
				return err
			}
			switch p.peek() {
			case ',':
				p.i++
			case ']':
				p.i++
				return nil
			default:
				return p.unexpected()
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		_, _, _, err := p.number()
		return err
	case c == 't' || c == 'f':
		_, err := p.boolean("")
		return err
	case c == 'n':
		if p.null() {
			return nil
		}
	}
	return p.unexpected()
}
