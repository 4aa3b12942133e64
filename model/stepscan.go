package model

import (
	"encoding/binary"
	"math/bits"
	"slices"
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
//
// A trace is written by one writer, so its lines share one layout: the same
// keys in the same order with the same spacing, only the values differ (and
// the keys that follow the action's type). The first line of each action
// type is read member by member; what lies between its values (keys,
// separators, brackets, spaces) is kept as the layout, and the next lines
// are matched against it a word at a time, reading only their values. When
// the values before the type are all naturals, the lines mostly write them
// with as many digits as the line before, and that head is matched as one
// template, text and digits together (headTemplate). After the action, the
// state's agent_id and shard_id mostly repeat too: the bytes from the
// action's end to the data list are compared with the last line's at once
// (the state run). A line that does not match is read member by member
// again, and its layout kept in turn.
type stepScan struct {
	seq            uint64 // t0, t1 and tid are only checked: nothing compares them
	typ            ActionType
	name, author   strSpan
	content, agent strSpan
	shard          uint64
	items, data    natsSpan

	// agentRaw is the agent_id of the last line remembered, as written: a
	// valid string, so the same bytes in the next line need no scan.
	// agentSame says the line's agent_id was those bytes.
	agentRaw  []byte
	agentEsc  bool
	agentSame bool

	// lastData is the data list of the last line remembered, as written (a
	// valid list, brackets included; lastFirst its first element's index).
	// A step that keeps the list writes the same bytes, a post writes one
	// element and then the same elements: those bytes need no scan.
	// dataRel says how the line's list relates to it: dataOther,
	// dataSame, or dataPrepended.
	lastData  []byte
	lastN     int
	lastFirst int
	lastV     uint64 // the value of its first element
	dataRel   int

	// run is the state run of the last line remembered: its bytes from
	// the piece before the agent_id to the data list (in json.dumps's
	// spelling `}, "state": {"agent_id": "a", "shard_id": 0, "data": `),
	// read through a tail whose last pieces are agent, shard and data,
	// with runID the tail's name for their texts (0: no run). Most steps
	// keep the agent_id and the shard: a line read through a tail of the
	// same runID that holds the same bytes there has the same agent_id
	// (at runAgent in the run, after its quote) and the same shard_id
	// (runShard), and only its data list is read.
	run      []byte
	runID    int
	runAgent int
	runShard uint64
	// The line's: where its run starts, the runID of its tail (0: it
	// was read member by member), and whether its run was the last one.
	runAt, lineRunID int
	runHit           bool

	marks  []mark // the values of the line read member by member
	layout layout
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

// natsSpan is an array of naturals of the line, [start, end) with its
// brackets, read without their values but the first's: equal lists in one
// spelling are equal bytes. n is its length.
type natsSpan struct {
	start, end, n int
	first         uint64
}

// raw returns the string's bytes as written.
func (s strSpan) raw(line []byte) []byte { return line[s.start:s.end] }

// runes is the decoded string's length in scalar values.
func (s strSpan) runes() uint64 { return uint64(s.end - s.start - s.skipped) }

// The members of a step, numbered, and as one bit each: a repeated key is
// left to the decoder.
const (
	iKind = iota
	iSeq
	iT0
	iT1
	iTID
	iAction
	iState
	iType
	iName
	iAuthor
	iContent
	iItems
	iAgent
	iShard
	iData
)

const (
	sKind    uint32 = 1 << iKind
	sSeq     uint32 = 1 << iSeq
	sT0      uint32 = 1 << iT0
	sT1      uint32 = 1 << iT1
	sTID     uint32 = 1 << iTID
	sAction  uint32 = 1 << iAction
	sState   uint32 = 1 << iState
	sType    uint32 = 1 << iType
	sName    uint32 = 1 << iName
	sAuthor  uint32 = 1 << iAuthor
	sContent uint32 = 1 << iContent
	sItems   uint32 = 1 << iItems
	sAgent   uint32 = 1 << iAgent
	sShard   uint32 = 1 << iShard
	sData    uint32 = 1 << iData
)

// mark is where the value of member f lies in a line: [start, end).
type mark struct {
	f          uint32
	start, end int
}

// layout is what lies between the values of the lines of one trace: before
// the action's type, the same for every line; after it, one for each type.
type layout struct {
	head  []piece
	tails [Distribute + 1]tail // by action type; empty until a line of it is read
	keys  []key                // head as read: the text before each value
	buf   []byte               // the bytes of keys' texts

	tmpl       headTemplate
	misses     int    // lines in a row whose head the template missed
	runIDs     int    // the last runID given to a tail
	tbuf, dbuf []byte // scratch for the template
}

// key is the text before the value of member f in a line.
type key struct {
	f    uint32
	text []byte
}

// piece is up to 32 bytes of text of the layout and what follows them: the
// value of member kind, or, with kind iNone, the next piece (a longer text
// is cut into pieces). The text is held as words (zero-padded) with masks
// of its bytes in them, for a comparison without branches on the bytes.
type piece struct {
	w, m [4]uint64
	n    int32 // the length of the text
	kind int32 // iSeq to iData, or iNone
}

// iNone is the kind of a piece followed by another piece, not a value.
const iNone = iData + 1

// appendPieces appends the pieces of text before the value of member f.
func appendPieces(ps []piece, f uint32, text []byte) []piece {
	for len(text) > 32 {
		ps = append(ps, newPiece(iNone, text[:32]))
		text = text[32:]
	}
	return append(ps, newPiece(int32(bits.TrailingZeros32(f)), text))
}

// newPiece makes the piece of text (up to 32 bytes) followed by kind.
func newPiece(kind int32, text []byte) piece {
	p := piece{n: int32(len(text)), kind: kind}
	for k := 0; k < 4 && 8*k < len(text); k++ {
		p.w[k] = lw(string(text[8*k:]))
		p.m[k] = ^uint64(0)
		if n := len(text) - 8*k; n < 8 {
			p.m[k] = 1<<(8*n) - 1
		}
	}
	return p
}

// matchAt reports whether line b holds p's text at b[i:], with fewer than
// 32 bytes from b[i] to the end of b.
func (p *piece) matchAt(b []byte, i int) bool {
	n := int(p.n)
	if len(b)-i < n {
		return false
	}
	for k := 0; k < n; k++ {
		if b[i+k] != byte(p.w[k>>3]>>(8*(k&7))) {
			return false
		}
	}
	return true
}

// tail is the layout after the type: its pieces and the text after the
// last value, to the end of the line.
type tail struct {
	pieces []piece
	end    []byte
	endW   piece // end, as words
	buf    []byte
	ok     bool // kept for the head as it is
	// The pieces from run on are those of the state run (see
	// stepScan.run), with runID the name of their texts, or none: run
	// is len(pieces), runID 0.
	run, runID int
}

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
		if r := recover(); r != nil {
			if isFault(r) {
				panic(r)
			}
			ok = false
		}
	}()
	if s.replay(b) {
		return true
	}
	if !s.members(b) {
		return false
	}
	s.keep(b)
	return true
}

// replay reads line b against the layout kept; false if it does not match.
func (s *stepScan) replay(b []byte) bool {
	return s.replayTo(b) == len(b)
}

// replayTo reads the line at the start of b against the layout kept, b
// holding that line and maybe more: it returns the length of the line (the
// index after the layout's end, where b ends or has its newline), or -1.
// No newline is taken for whitespace (a line holds none), so a line cut
// short is never read on into the next.
func (s *stepScan) replayTo(b []byte) int {
	l := &s.layout
	if len(l.head) == 0 {
		return -1
	}
	s.typ, s.items.end, s.name.end = 0, 0, 0
	i := -1
	if l.tmpl.nw > 0 && len(b) >= headAt {
		if i = l.tmpl.match((*[headAt]byte)(b), s); i >= 0 {
			l.misses = 0
		} else if i = s.pieces(b, 0, l.head); i >= 0 {
			// The values have other lengths: after a few lines that do,
			// the template is made anew of this one (lengths that
			// alternate keep the one there is).
			if l.misses++; l.misses >= 4 {
				l.template(b)
			}
		}
	} else {
		i = s.pieces(b, 0, l.head)
	}
	if i < 0 {
		return -1
	}
	t := &l.tails[s.typ] // the head ends with the type's value
	if !t.ok {
		return -1
	}
	if i = s.pieces(b, i, t.pieces[:t.run]); i < 0 {
		return -1
	}
	s.runAt, s.lineRunID = i, t.runID
	r := s.run
	if s.runHit = t.runID == s.runID && t.runID != 0 && len(b)-i >= len(r) && string(b[i:i+len(r)]) == string(r); s.runHit {
		// The same agent_id and shard_id as the last line remembered.
		a := i + s.runAgent
		s.agent = strSpan{start: a, end: a + len(s.agentRaw), esc: s.agentEsc}
		s.agentSame, s.shard = true, s.runShard
		i = s.scanData(b, i+len(r))
	} else {
		i = s.pieces(b, i, t.pieces[t.run:])
	}
	if i < 0 {
		return -1
	}
	e := i + len(t.end)
	if len(t.end) < 8 && len(b)-i >= 8 { // the end and the newline as one word
		if (binary.LittleEndian.Uint64(b[i:])^t.endW.w[0])&t.endW.m[0] == 0 {
			return e
		}
	} else if len(b) >= e && string(b[i:e]) == string(t.end) && (e == len(b) || b[e] == '\n') {
		return e
	}
	return -1
}

// pieces reads the values of line b from i on, each after its piece of
// the layout; it returns the index after the last, or -1. Each value is
// read in the loop: a call for each would cost more than most values.
func (s *stepScan) pieces(b []byte, i int, pieces []piece) int {
	for k := range pieces {
		p := &pieces[k]
		if len(b)-i >= 32 { // masked words, no branches on the bytes
			// The pieces of a line come in the same order each time:
			// the branches on their lengths are foreseen.
			w := (*[32]byte)(b[i:])
			d := (binary.LittleEndian.Uint64(w[:8]) ^ p.w[0]) & p.m[0]
			if p.n > 8 {
				d |= (binary.LittleEndian.Uint64(w[8:16]) ^ p.w[1]) & p.m[1]
				if p.n > 16 {
					d |= (binary.LittleEndian.Uint64(w[16:24]) ^ p.w[2]) & p.m[2]
					if p.n > 24 { // json.dumps's "}, "state": {"agent_id": "
						d |= (binary.LittleEndian.Uint64(w[24:]) ^ p.w[3]) & p.m[3]
					}
				}
			}
			if d != 0 {
				return -1
			}
		} else if !p.matchAt(b, i) {
			return -1
		}
		i += int(p.n)
		// The value of member p.kind at b[i]; i becomes the index after
		// it, or -1.
		switch p.kind { // a jump table
		// Numbers of up to 15 digits are read here, longer ones and
		// malformed ones by the scanners.
		case iSeq:
			if x, n := digitsAt(b, i); n < 8 && n > 0 && (n == 1 || byte(x) != 0) {
				if s.seq, i = digitsValue(x<<(64-8*n)), i+n; s.seq == 0 {
					return -1
				}
				break
			}
			if s.seq, i = scanNat(b, i); s.seq == 0 {
				return -1
			}
		case iT0, iT1, iTID: // only checked, never compared
			if len(b)-i >= 16 {
				x, n := digitsAt(b, i)
				if n == 8 {
					if _, n2 := digitsAt(b, i+8); n2 < 8 && byte(x) != 0 {
						i += 8 + n2
						break
					}
				} else if n > 0 && (n == 1 || byte(x) != 0) {
					i += n
					break
				}
			}
			j := scanDigits(b, i)
			if j-i > 18 && p.kind == iTID { // 19 digits may exceed 2^62
				if tid, _ := scanNat(b, i); tid > 1<<62 {
					return -1
				}
			}
			i = j
		case iType:
			s.typ, i = typeAt(b, i)
		case iName:
			i = scanString(b, i, &s.name)
		case iAuthor:
			i = scanString(b, i, &s.author)
		case iContent:
			i = scanString(b, i, &s.content)
		case iItems:
			i = scanNatsSpan(b, i, &s.items)
		case iAgent:
			// The agent_id mostly repeats: the same bytes as the last
			// one scanned are the same valid string. (Mostly the state
			// run has found them already: this is a register, or the line
			// after a change of layout.) A register's is mostly its name,
			// read before it (else s.name.end is 0).
			r := s.agentRaw
			if n := s.name; s.typ == Register && n.end > 0 {
				if r = n.raw(b); len(b)-i > len(r)+1 && b[i] == '"' && b[i+1+len(r)] == '"' && string(b[i+1:i+1+len(r)]) == string(r) {
					s.agent = strSpan{start: i + 1, end: i + 1 + len(r), skipped: n.skipped, esc: n.esc}
					s.agentSame, i = false, i+len(r)+2
					break
				}
				r = s.agentRaw
			}
			if s.agentSame = len(b)-i > len(r)+1 && b[i] == '"' && b[i+1+len(r)] == '"' && string(b[i+1:i+1+len(r)]) == string(r); s.agentSame {
				s.agent = strSpan{start: i + 1, end: i + 1 + len(r), esc: s.agentEsc}
				i += len(r) + 2
			} else {
				i = scanString(b, i, &s.agent)
			}
		case iShard:
			if x, n := digitsAt(b, i); n < 8 && n > 0 && (n == 1 || byte(x) != 0) {
				s.shard, i = digitsValue(x<<(64-8*n)), i+n
				break
			}
			s.shard, i = scanNat(b, i)
		case iData:
			i = s.scanData(b, i)
		case iNone:
		default:
			return -1
		}
		if i < 0 {
			return -1
		}
	}
	return i
}

// value reads the value of member f at b[i] (i < 0: -1); it returns the
// index after it, or -1: pieces with a piece of no text.
func (s *stepScan) value(b []byte, i int, f uint32) int {
	if i < 0 {
		return -1
	}
	one := [1]piece{{kind: int32(bits.TrailingZeros32(f))}}
	return s.pieces(b, i, one[:])
}

// keep keeps the layout of line b, just read member by member (its values
// in s.marks), when the action's type comes before the members that depend
// on it (as every writer of the trace format orders them).
func (s *stepScan) keep(b []byte) {
	l := &s.layout
	t := 0
	for t < len(s.marks) && s.marks[t].f != sType {
		if s.marks[t].f&(sName|sAuthor|sContent|sItems) != 0 {
			return
		}
		t++
	}
	// The head: the same as kept, else kept anew, and every tail with it.
	same := len(l.keys) == t+1
	for k := 0; same && k <= t; k++ {
		m, y := s.marks[k], l.keys[k]
		same = y.f == m.f && string(y.text) == string(b[prevEnd(s.marks, k):m.start])
	}
	if !same {
		l.buf, l.keys, l.head = l.buf[:0], l.keys[:0], l.head[:0]
		for k := 0; k <= t; k++ {
			l.buf = append(l.buf, b[prevEnd(s.marks, k):s.marks[k].start]...)
		}
		at := 0
		for k := 0; k <= t; k++ {
			n := s.marks[k].start - prevEnd(s.marks, k)
			y := key{f: s.marks[k].f, text: l.buf[at : at+n : at+n]}
			l.keys = append(l.keys, y)
			l.head = appendPieces(l.head, y.f, y.text)
			at += n
		}
		for typ := range l.tails {
			l.tails[typ].ok = false
		}
		l.template(b)
	}
	tl := &l.tails[s.typ]
	tl.buf = tl.buf[:0]
	for k := t + 1; k < len(s.marks); k++ {
		tl.buf = append(tl.buf, b[prevEnd(s.marks, k):s.marks[k].start]...)
	}
	last := s.marks[len(s.marks)-1].end
	tl.buf = append(tl.buf, b[last:]...)
	tl.pieces = tl.pieces[:0]
	at := 0
	for k := t + 1; k < len(s.marks); k++ {
		n := s.marks[k].start - prevEnd(s.marks, k)
		tl.pieces = appendPieces(tl.pieces, s.marks[k].f, tl.buf[at:at+n:at+n])
		at += n
	}
	tl.ok = true
	tl.end = tl.buf[at:]
	// The state run: pieces agent, shard and data at the end, named as
	// in another tail with the same texts there, else anew.
	n := len(tl.pieces)
	tl.run, tl.runID = n, 0
	if n >= 3 && tl.pieces[n-3].kind == iAgent && tl.pieces[n-2].kind == iShard && tl.pieces[n-1].kind == iData {
		tl.run = n - 3
		for k := range l.tails {
			if o := &l.tails[k]; o != tl && o.ok && o.runID != 0 && slices.Equal(o.pieces[o.run:], tl.pieces[tl.run:]) {
				tl.runID = o.runID
				break
			}
		}
		if tl.runID == 0 {
			l.runIDs++
			tl.runID = l.runIDs
		}
	}
	tl.endW = newPiece(iNone, append(tl.end[:len(tl.end):len(tl.end)], '\n'))
}

// prevEnd is where the text before mark k starts: the end of the value
// before it, or the start of the line.
func prevEnd(marks []mark, k int) int {
	if k == 0 {
		return 0
	}
	return marks[k-1].end
}

// How a line's data list relates to the last one scanned, or to the
// line's items.
const (
	dataOther = iota
	dataSame
	dataPrepended
	dataItems
)

// scanData reads the state's data list at b[i] into s.data, with no scan
// of the bytes that repeat the last list scanned (see lastData) or the
// distribute's items. What the action's type mostly writes is tried
// first: a post prepends one element, a distribute writes its items, the
// other types keep the list.
func (s *stepScan) scanData(b []byte, i int) int {
	s.dataRel = dataOther
	last := s.lastData
	if it := s.items; s.typ == Distribute {
		// The line's items (read before, else it.end is 0).
		if n := it.end - it.start; it.end > 0 && len(b)-i >= n && string(b[i:i+n]) == string(b[it.start:it.end]) {
			s.data = natsSpan{start: i, end: i + n, n: it.n, first: it.first}
			s.dataRel = dataItems
		}
	} else if s.typ != Post && len(last) > 0 && len(b)-i >= len(last) && string(b[i:i+len(last)]) == string(last) {
		s.data = natsSpan{start: i, end: i + len(last), n: s.lastN, first: s.lastV}
		s.dataRel = dataSame
	} else if s.lastN > 0 && b[i] == '[' {
		// One element, a comma, then the last list's elements.
		tail := last[s.lastFirst:]
		_, j := next(b, i+1)
		var v uint64
		if x, n := digitsAt(b, j); n < 8 && n > 0 && (n == 1 || byte(x) != 0) {
			v, j = digitsValue(x<<(64-8*n)), j+n // mostly 1 or 2 digits
		} else {
			v, j = scanNat(b, j)
		}
		if j >= 0 {
			if c, j := next(b, j); c == ',' {
				if _, j = next(b, j+1); len(b)-j >= len(tail) && string(b[j:j+len(tail)]) == string(tail) {
					s.data = natsSpan{start: i, end: j + len(tail), n: s.lastN + 1, first: v}
					s.dataRel = dataPrepended
				}
			}
		}
	}
	if s.dataRel == dataOther && scanNatsSpan(b, i, &s.data) < 0 {
		return -1
	}
	return s.data.end
}

// remember keeps the agent_id and the data list of line b, just read
// whole, for the next line (see agentRaw and lastData). The check's fast
// path remembers the lines it takes, so that the next line is compared
// with the state the checker holds.
func (s *stepScan) remember(b []byte) {
	if !s.runHit {
		s.runID = s.lineRunID
		if s.runID != 0 {
			s.run = append(s.run[:0], b[s.runAt:s.data.start]...)
			s.runAgent, s.runShard = s.agent.start-s.runAt, s.shard
		}
	}
	if !s.agentSame {
		s.agentRaw, s.agentEsc = append(s.agentRaw[:0], s.agent.raw(b)...), s.agent.esc
	}
	if s.dataRel != dataSame {
		d := &s.data
		s.lastData, s.lastN, s.lastV = append(s.lastData[:0], b[d.start:d.end]...), d.n, d.first
		s.lastFirst = len(s.lastData) - 1 // the closing bracket, when the list is empty
		if d.n > 0 {
			_, s.lastFirst = next(s.lastData, 1)
		}
	}
}

// members reads line b member by member, noting where its values lie in
// s.marks.
func (s *stepScan) members(b []byte) bool {
	s.typ, s.marks, s.items.end, s.name.end = 0, s.marks[:0], 0, 0
	s.lineRunID, s.runHit = 0, false
	c, i := next(b, 0)
	if c != '{' {
		return false
	}
	var seen uint32
	c, i = next(b, i+1)
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
				i += 6 // "step" stays in the layout
			}
		case 's':
			if w&m5 == kSeq {
				f, i = sSeq, s.member(b, colon(b, i+5), sSeq)
			} else if w&m7 == kState {
				f, i = sState, s.state(b, colon(b, i+7))
			}
		case 't':
			switch {
			case w&m4 == kT0:
				f, i = sT0, s.member(b, colon(b, i+4), sT0)
			case w&m4 == kT1:
				f, i = sT1, s.member(b, colon(b, i+4), sT1)
			case w&m5 == kTID:
				f, i = sTID, s.member(b, colon(b, i+5), sTID)
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

// member reads the value of member f at b[i] and marks where it lies.
func (s *stepScan) member(b []byte, i int, f uint32) int {
	j := s.value(b, i, f)
	if j >= 0 {
		s.marks = append(s.marks, mark{f: f, start: i, end: j})
	}
	return j
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
				f, i = sType, s.member(b, colon(b, i+6), sType)
			}
		case 'n':
			if w&m6 == kName {
				f, i = sName, s.member(b, colon(b, i+6), sName)
			}
		case 'a':
			if w == kAuthor {
				f, i = sAuthor, s.member(b, colon(b, i+8), sAuthor)
			}
		case 'c':
			if w == kContent && b[i+8] == '"' {
				f, i = sContent, s.member(b, colon(b, i+9), sContent)
			}
		case 'i':
			if w&m7 == kItems {
				f, i = sItems, s.member(b, colon(b, i+7), sItems)
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
// -1.
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
				f, i = sAgent, s.member(b, colon(b, i+10), sAgent)
			}
		case 's':
			if w == kShard && word(b, i+2) == kShard2 {
				f, i = sShard, s.member(b, colon(b, i+10), sShard)
			}
		case 'd':
			if w&m6 == kData {
				f, i = sData, s.member(b, colon(b, i+6), sData)
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

// skipMore skips any JSON whitespace at b[i:] but a newline, which no line
// holds: the scanner stops there even when b holds the lines after it.
func skipMore(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r') {
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

// zeros is '0' in every byte of a word.
const zeros = 0x3030303030303030

// pow10 are the powers of ten up to 10^8.
var pow10 = [9]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

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

// digitsAt returns the 8 bytes at b[i:] less '0' in each (x) and how many
// of them, from the first, are digits (n, 8 when all are); with fewer than
// 8 bytes at b[i:], n is 8 (the caller reads on with scanNat).
func digitsAt(b []byte, i int) (x uint64, n int) {
	if len(b)-i < 8 {
		return 0, 8
	}
	x = binary.LittleEndian.Uint64(b[i:]) - zeros
	return x, bits.TrailingZeros64((x|(x+0x7676767676767676))&highs) >> 3
}

// scanDigits is scanNat without the value.
func scanDigits(b []byte, i int) int {
	if i < 0 || len(b)-i < 8 {
		_, j := scanNatTail(b, i)
		return j
	}
	x := binary.LittleEndian.Uint64(b[i:]) - zeros
	n := 8
	if not := (x | (x + 0x7676767676767676)) & highs; not != 0 {
		n = bits.TrailingZeros64(not) >> 3
	} else if len(b)-i < 16 {
		_, j := scanNatMore(b, i, i+8, 0)
		return j
	} else {
		y := binary.LittleEndian.Uint64(b[i+8:]) - zeros
		if not := (y | (y + 0x7676767676767676)) & highs; not == 0 {
			_, j := scanNatMore(b, i, i+16, 0)
			return j
		} else {
			n += bits.TrailingZeros64(not) >> 3
		}
	}
	if n == 0 || (n > 1 && byte(x) == 0) {
		return -1
	}
	return i + n
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

// scanNatsSpan reads the array of naturals at b[i] into sp: its elements
// are checked as naturals, only the first is read as a number. It returns
// the index after the array, or -1.
func scanNatsSpan(b []byte, i int, sp *natsSpan) int {
	if i < 0 || b[i] != '[' {
		return -1
	}
	sp.start, sp.n, sp.first = i, 0, 0
	c, i := next(b, i+1)
	if c == ']' {
		sp.end = i + 1
		return i + 1
	}
	v, j := scanNat(b, i)
	for {
		if j < 0 {
			return -1
		}
		if sp.n++; sp.n == 1 {
			sp.first = v
		}
		if c, i = next(b, j); c == ',' {
			_, i = next(b, i+1)
			j = scanDigits(b, i)
			continue
		}
		if c != ']' {
			return -1
		}
		sp.end = i + 1
		return i + 1
	}
}

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

// scanString reads the JSON string at b[i] into sp, validating it as the
// decoder does (no control characters, known escapes, valid UTF-8) without
// unescaping it, and counts its scalar values. It returns the index after
// the closing quote, or -1. The scan goes 8 bytes at a time, ASCII or not:
// the first quote, backslash or control character of a word is found
// exactly (the lowest byte that specialMask marks), and the bytes before it,
// when they are not all ASCII, are run through the UTF-8 automaton
// (utf8Four), whose state carries over to the next word; the scalar values
// are the bytes less the continuation bytes, counted in the word at once.
func scanString(b []byte, i int, sp *strSpan) int {
	if i < 0 || b[i] != '"' {
		return -1
	}
	i++
	start, skipped, esc := i, 0, false
	st := uint64(utf8Accept) // the UTF-8 state between words
	for {
		var c byte
		if len(b)-i >= 8 {
			w := binary.LittleEndian.Uint64(b[i:])
			m := specialMask(w)
			k := 8
			if m != 0 {
				k = bits.TrailingZeros64(m) >> 3
				w &= (m ^ (m - 1)) >> 8 // the plain bytes before it: the bits below its mark's byte
			}
			if w&highs != 0 || st != utf8Accept {
				st = utf8Four(w>>32, utf8Four(w, st))
				if st == utf8Error {
					return -1
				}
				skipped += bits.OnesCount64(w &^ (w << 1) & highs) // continuation bytes
			}
			i += k
			if k == 8 {
				continue
			}
			c = b[i]
		} else {
			if st != utf8Accept {
				return -1 // a sequence across the last bytes of the line: the decoder judges
			}
			if c = b[i]; c >= 0x80 {
				if c&0xc0 == 0x80 {
					return -1 // a continuation byte without a first byte
				}
				n := utf8Seq(b, i)
				if n == 0 {
					return -1
				}
				skipped += n - 1
				i += n
				continue
			}
			if c != '"' && c != '\\' && c >= 0x20 {
				i++
				continue
			}
		}
		switch {
		case c == '\\':
			esc = true
			for { // escapes mostly come in runs (json.dumps's \uXXXX)
				if len(b)-i >= 16 {
					// \uXXXX, its digits checked and classed by hexPair,
					// and the \uXXXX after it, read already. A high
					// surrogate followed by a low one is one scalar value;
					// any other escape is one (a lone surrogate is
					// U+FFFD). The second escape is taken with the first
					// unless it is a high surrogate, which may pair with
					// the escape after it.
					v := (*[16]byte)(b[i : i+16])
					w := binary.LittleEndian.Uint64(v[:])
					w2 := binary.LittleEndian.Uint64(v[6:])
					e := hexPair[uint16(w>>16)]
					if uint16(w) == '\\'|'u'<<8 && e&hexPair[uint16(w>>32)]&pairHex != 0 {
						// The second escape is taken when it is a \u with 4
						// digits (x is 0) and not a high surrogate; it makes
						// a pair, one byte more skipped, when it is a low
						// surrogate after a high one (e2>>1 moves pairLow
						// onto pairHigh). A malformed \u after a surrogate
						// is found on the next turn, as an escape of its own.
						e2 := hexPair[uint16(w2>>16)]
						x := uint64(uint16(w2)^('\\'|'u'<<8)) | uint64(^(e2&hexPair[uint16(w2>>32)])&pairHex)
						next := uint16(w2) // the two bytes after the escapes taken
						if x|uint64(e2&pairHigh) == 0 {
							i += 12
							skipped += 10 + int(e&(e2>>1)&pairHigh)>>1
							next = uint16(w2 >> 48)
						} else {
							i += 6
							skipped += 5
						}
						switch {
						case byte(next) == '\\':
							continue
						case byte(next) == '"': // the string ends with the run
							*sp = strSpan{start: start, end: i, skipped: skipped, esc: true}
							return i + 1
						case next == ' '|'\\'<<8: // runs between words
							i++
							continue
						}
						break
					}
				}
				if len(b)-i >= 3 && shortEscape[b[i+1]] { // \" \\ \/ \b \f \n \r \t
					i += 2
					skipped++
				} else if i = escape(b, i, &skipped); i < 0 {
					return -1
				}
				if b[i] != '\\' {
					break
				}
			}
		case c == '"':
			*sp = strSpan{start: start, end: i, skipped: skipped, esc: esc}
			return i + 1
		default:
			return -1
		}
	}
}

// shortEscape marks the bytes that make an escape of two bytes after a
// backslash.
var shortEscape = [256]bool{'"': true, '\\': true, '/': true, 'b': true, 'f': true, 'n': true, 'r': true, 't': true}

// utf8Four runs the UTF-8 automaton over the low 4 bytes of w, the first
// in the low byte, from state st, and returns the state after them:
// utf8Error once a byte breaks UTF-8 as utf8.Valid judges it, utf8Accept
// between sequences, another state inside one (a word may end inside a
// sequence; the state carries over to the next). scanString runs it twice
// on each word that is not plain ASCII (4 bytes at a time, so that it is
// inlined there). A zero byte is taken as ASCII: scanString zeroes the
// bytes from the first quote, backslash or control character on, so a
// sequence cut short there leads to utf8Error.
//
// The automaton is shift-based: each state is a bit offset (a multiple of
// 6) into the table entry of the next byte, and the 6 bits there are the
// next state. The entry is loaded at an index that does not depend on the
// state, so the only work that waits on the state is a shift.
func utf8Four(w, st uint64) uint64 {
	st = utf8DFA[byte(w)] >> (st & 63)
	st = utf8DFA[byte(w>>8)] >> (st & 63)
	st = utf8DFA[byte(w>>16)] >> (st & 63)
	st = utf8DFA[byte(w>>24)] >> (st & 63)
	return st & 63
}

// The states of the UTF-8 automaton (utf8Four): utf8Error is 0, so that
// every entry keeps it; the others are named by what they still need.
const (
	utf8Error   = 0
	utf8Accept  = 6 * iota // between sequences
	utf8Need1              // one continuation byte
	utf8Need2              // two
	utf8Need3              // three
	utf8AfterE0            // A0 to BF, then one
	utf8AfterED            // 80 to 9F, then one
	utf8AfterF0            // 90 to BF, then two
	utf8AfterF4            // 80 to 8F, then two
)

// utf8DFA is the table of the UTF-8 automaton: for each byte, the next
// state from each state, at the state's offset.
var utf8DFA = func() (t [256]uint64) {
	next := func(st, c int) int {
		cont := c >= 0x80 && c <= 0xbf
		switch st {
		case utf8Accept:
			switch {
			case c < 0x80:
				return utf8Accept
			case c >= 0xc2 && c <= 0xdf:
				return utf8Need1
			case c == 0xe0:
				return utf8AfterE0
			case c == 0xed:
				return utf8AfterED
			case c >= 0xe1 && c <= 0xef:
				return utf8Need2
			case c == 0xf0:
				return utf8AfterF0
			case c >= 0xf1 && c <= 0xf3:
				return utf8Need3
			case c == 0xf4:
				return utf8AfterF4
			}
		case utf8Need1:
			if cont {
				return utf8Accept
			}
		case utf8Need2:
			if cont {
				return utf8Need1
			}
		case utf8Need3:
			if cont {
				return utf8Need2
			}
		case utf8AfterE0:
			if c >= 0xa0 && c <= 0xbf {
				return utf8Need1
			}
		case utf8AfterED:
			if c >= 0x80 && c <= 0x9f {
				return utf8Need1
			}
		case utf8AfterF0:
			if c >= 0x90 && c <= 0xbf {
				return utf8Need2
			}
		case utf8AfterF4:
			if c >= 0x80 && c <= 0x8f {
				return utf8Need2
			}
		}
		return utf8Error
	}
	for c := range t {
		for st := utf8Accept; st <= utf8AfterF4; st += 6 {
			t[c] |= uint64(next(st, c)) << st
		}
	}
	return t
}()

// specialMask marks with its high bit each byte of w that is a quote, a
// backslash or a control character; the lowest mark is exact (higher ones
// may be false).
func specialMask(w uint64) uint64 {
	// A byte of q or s is zero where w holds a quote or a backslash; the
	// borrow of subtracting 1 (or 0x20 from w) sets its high bit where the
	// byte is below that. A byte whose own high bit is set is not marked:
	// q and s have w's high bits, as '"' and '\\' are ASCII.
	q := w ^ (ones * '"')
	s := w ^ (ones * '\\')
	return ((q - ones) | (s - ones) | (w - ones*0x20)) &^ w & highs
}

// utf8Seq validates the UTF-8 sequence at b[i], whose first byte is not
// ASCII, as utf8.Valid does; it returns its length, or 0 when it is not
// valid. With 4 bytes at hand it does so without branching on the length:
// the first byte gives the length and the range of the second byte, and
// one mask checks the continuation bytes.
func utf8Seq(b []byte, i int) int {
	if len(b)-i < 4 {
		return utf8SeqTail(b, i)
	}
	v := binary.LittleEndian.Uint32(b[i:])
	x := utf8First[byte(v)]
	n, r := x&7, utf8Ranges[x>>4]
	if c1 := byte(v >> 8); v&utf8ContMask[n] != utf8ContVal[n] || c1 < r[0] || c1 > r[1] {
		return 0
	}
	return int(n)
}

// utf8SeqTail is utf8Seq near the end of the line.
func utf8SeqTail(b []byte, i int) int {
	x := utf8First[b[i]]
	n, r := int(x&7), utf8Ranges[x>>4]
	if n < 2 || len(b)-i < n || b[i+1] < r[0] || b[i+1] > r[1] {
		return 0
	}
	for k := 2; k < n; k++ {
		if b[i+k]&0xc0 != 0x80 {
			return 0
		}
	}
	return n
}

// The UTF-8 sequences: for each first byte, the length (0: not a first
// byte) and, above it, the index of the range of the second byte; the
// masks of the continuation bytes of a sequence of each length.
var (
	utf8First = func() (t [256]uint8) {
		for c := 0xc2; c < 0xf5; c++ {
			switch {
			case c < 0xe0:
				t[c] = 2
			case c == 0xe0:
				t[c] = 3 | 1<<4
			case c == 0xed:
				t[c] = 3 | 2<<4
			case c < 0xf0:
				t[c] = 3
			case c == 0xf0:
				t[c] = 4 | 3<<4
			case c == 0xf4:
				t[c] = 4 | 4<<4
			default:
				t[c] = 4
			}
		}
		return t
	}()
	utf8Ranges   = [5][2]byte{{0x80, 0xbf}, {0xa0, 0xbf}, {0x80, 0x9f}, {0x90, 0xbf}, {0x80, 0x8f}}
	utf8ContMask = [8]uint32{0: 0xffffffff, 2: 0xc000, 3: 0xc0c000, 4: 0xc0c0c000}
	utf8ContVal  = [8]uint32{0: 1, 2: 0x8000, 3: 0x808000, 4: 0x80808000}
)

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
	v := binary.LittleEndian.Uint32(b[i:])
	a, c, d, e := unhex[byte(v)], unhex[byte(v>>8)], unhex[byte(v>>16)], unhex[byte(v>>24)]
	return rune(a)<<12 | rune(c)<<8 | rune(d)<<4 | rune(e), (a|c|d|e)&0xf0 == 0
}

// hexPair classes two bytes, the first in the low byte, as the digits of a
// \uXXXX escape: pairHex when they are both hexadecimal digits (0 when
// not); then, when they are the first two digits, pairHigh for D8 to DB (a
// high surrogate) and pairLow for DC to DF (a low one).
var hexPair = func() (t [1 << 16]uint8) {
	const digits = "0123456789abcdefABCDEF"
	for _, a := range []byte(digits) {
		for _, c := range []byte(digits) {
			x := uint8(pairHex)
			switch v := unhex[a]<<4 | unhex[c]; {
			case v >= 0xd8 && v <= 0xdb:
				x |= pairHigh
			case v >= 0xdc && v <= 0xdf:
				x |= pairLow
			}
			t[uint16(a)|uint16(c)<<8] = x
		}
	}
	return t
}()

// The classes of hexPair.
const (
	pairHex  = 1
	pairHigh = 2
	pairLow  = 4
)

// escape reads the escape at b[i], adding to *skipped the bytes of it that
// do not start a scalar value; it returns the index after it, or -1.
func escape(b []byte, i int, skipped *int) int {
	if x := b[i+1]; x != 'u' {
		switch x {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			*skipped++
			return i + 2
		}
		return -1
	}
	if len(b)-i < 6 {
		return -1
	}
	v := binary.LittleEndian.Uint32(b[i+2:])
	h0, h1, h2, h3 := unhex[byte(v)], unhex[byte(v>>8)], unhex[byte(v>>16)], unhex[byte(v>>24)]
	if (h0|h1|h2|h3)&0xf0 != 0 {
		return -1
	}
	i += 6
	*skipped += 5
	if h0 != 0xd || h1 < 8 {
		return i // not a surrogate
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
		if h1 < 0xc && r2 >= 0xdc00 && r2 <= 0xdfff {
			i += 6
			*skipped += 6
		}
	}
	return i
}
