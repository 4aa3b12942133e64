package model

import (
	"bytes"
	"errors"
	"io"
	"slices"
)

// checkLines is CheckTrace on the caller's goroutine, with a fast path: each
// line is first read by stepScan and judged in place by Checker.fastStep,
// which compares the step's numbers and strings, as written, with the
// previous state the checker keeps, and updates that state in place; it
// allocates nothing. A line the fast path does not take (an init or lost
// record, a step after a gap or a divergence, capping, big naturals, unknown
// fields, malformed input) goes to the decoder and Checker.Feed, exactly as
// without the fast path, so the result is the same either way (tests and a
// fuzz target compare them). falls counts those lines.
//
// One goroutine is cheaper in CPU time than the decoding pipeline, and the
// fast path alone checks several million steps a second.
func checkLines(d *Decoder, rel Relation) (res Result, falls int, err error) {
	c := NewChecker(rel)
	c.res.Files = []string{d.Name()}
	f := fastPath{p: &d.p}
	records := 0
	loop := func() error {
		var rec Record
		for {
			// The lines mapped, or held whole by the reader, are read in
			// place, with no search for their end: the layout ends where
			// the line does. The mapped ones up to the next mark, where
			// advance may stop the check.
			if m := d.m; m != nil {
				if took, lines := c.fastLines(&f, m.data[m.off:], m.mark-m.off); lines > 0 {
					d.line += lines
					records += lines
					if err := d.advance(took); err != nil {
						return readErrorf(d.name, err)
					}
				}
			} else if b, _ := d.r.Peek(d.r.Buffered()); len(b) > 0 {
				if took, lines := c.fastLines(&f, b, len(b)); lines > 0 {
					d.line += lines
					records += lines
					_, _ = d.r.Discard(took)
				}
			}
			line, rerr := d.readLine()
			if rerr != nil && !errors.Is(rerr, io.EOF) {
				return readErrorf(d.name, rerr)
			}
			if len(line) == 0 && rerr != nil {
				return nil
			}
			d.line++
			if (len(line) == 0 || line[0] != '{') && len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			records++
			if f.scan.scan(line) && c.fastStep(&f, line) {
				continue
			}
			falls++
			f.sync(c) // the decoder's path reads the previous state, and may change it
			if derr := decodeInto(&d.p, line, &rec); derr != nil {
				c.Reject(badLine(&d.p, line, d.name, d.line, derr))
				continue
			}
			rec.File, rec.Line = d.name, d.line
			_ = c.Feed(rec) // counted in the result when out of place
		}
	}
	if d.mapFile != nil {
		err = d.checkMapped(loop)
	} else {
		err = loop()
	}
	if err != nil {
		return c.res, falls, err
	}
	if records == 0 {
		return c.res, falls, &InputError{File: d.Name(), Msg: "empty trace: no records; a trace has one JSON record per line"}
	}
	if c.res.Verdict() == NotATrace {
		return c.res, falls, notATraceError(d.Name(), c.res.FirstUndecodable)
	}
	return c.res, falls, nil
}

// fastLines takes the lines at the start of b, which holds more than them,
// that the fast path takes, up to the first it does not or the first that
// starts at limit or after: it returns how many bytes and lines it took.
// One recovery serves every line: indexing past the end of b (a line cut
// short, or cut by the end of b) panics, and that line is not taken.
func (c *Checker) fastLines(f *fastPath, b []byte, limit int) (took, lines int) {
	defer func() {
		if r := recover(); r != nil {
			if isFault(r) || !f.scanning {
				panic(r)
			}
			f.scanning = false
		}
	}()
	limit = min(limit, len(b))
	for took < limit && b[took] == '{' {
		f.scanning = true
		n := f.scan.replayTo(b[took:])
		f.scanning = false
		if n < 0 || took+n == len(b) || !c.fastStep(f, b[took:took+n]) {
			break // no newline seen: the line may go on past b
		}
		took += n + 1
		lines++
	}
	return took, lines
}

// fastPath is the state of checkLines's fast path besides the checker's.
type fastPath struct {
	scan stepScan
	p    *parser // the decoder's: unescapes strings and interns names
	// ok: the scanner remembers the line of the checker's previous state
	// (its agent_id and data list as written). The next step mostly
	// writes them the same way, and equal bytes are equal values, so no
	// decoding is needed to compare them. The checker's own data list is
	// then out of date (stale) until sync reads it from the scanner's.
	ok    bool
	stale bool
	// agentStale: a register step changed the agent_id, and the checker's
	// AgentID is out of date until agentID decodes the scanner's copy of
	// it. The next steps mostly write it with the same bytes, which the
	// scanner compares without decoding.
	agentStale  bool
	quoted      []byte   // the remembered agent_id in quotes, for the parser
	scanning    bool     // in the scanner, whose panics fastLines recovers
	name        []byte   // a decoded register name
	nums, other []uint64 // scratch for comparing lists by value
}

// sync brings the checker's previous state up to date before the decoder's
// path uses it, and forgets what the fast path knew of it.
func (f *fastPath) sync(c *Checker) {
	if f.agentStale && !f.agentID(c) {
		c.prev.AgentID = "" // unreachable: the scanner validated the bytes
	}
	if f.stale {
		f.nums, _ = scanNats(f.scan.lastData, 0, f.nums)
		c.prev.Data = c.prev.Data[:0]
		for _, v := range f.nums {
			c.prev.Data = append(c.prev.Data, Nat{small: v})
		}
		f.stale = false
	}
	f.ok = false
}

// agentID brings the checker's AgentID up to date from the agent_id the
// scanner remembers; false if it does not decode.
func (f *fastPath) agentID(c *Checker) bool {
	if !f.agentStale {
		return true
	}
	f.agentStale = false
	raw := f.scan.agentRaw
	if !f.scan.agentEsc {
		c.prev.AgentID = f.p.intern(raw)
		return true
	}
	f.quoted = append(append(append(f.quoted[:0], '"'), raw...), '"')
	f.p.b, f.p.i = f.quoted, 0
	a, err := f.p.strq()
	if err != nil {
		return false
	}
	c.prev.AgentID = f.p.intern(a)
	return true
}

// decode returns the string sp of line, unescaped (in the parser's scratch
// buffer when it holds escapes, valid until the next decode).
func (f *fastPath) decode(line []byte, sp strSpan) ([]byte, bool) {
	if !sp.esc {
		return sp.raw(line), true
	}
	f.p.b, f.p.i = line, sp.start-1
	s, err := f.p.strq()
	return s, err == nil
}

// prevLen is the length of the previous state's data list.
func (f *fastPath) prevLen(c *Checker) int {
	if f.ok {
		return f.scan.lastN
	}
	return len(c.prev.Data)
}

// sameTail reports whether the list obs of line, less its first skip
// elements, is the previous state's list, by value (when the scanner did
// not find the same bytes as the last line's).
func (f *fastPath) sameTail(c *Checker, line []byte, obs natsSpan, skip int) bool {
	f.nums, _ = scanNats(line, obs.start, f.nums)
	if f.ok {
		f.other, _ = scanNats(f.scan.lastData, 0, f.other)
		return slices.Equal(f.nums[skip:], f.other)
	}
	return smallsEqual(f.nums[skip:], c.prev.Data)
}

// fastStep judges the step f.scan read from line as Feed would judge the
// decoded record, when that is simple: the step follows the previous state
// directly (no gap, no pre state, nothing capped, every natural below 2^64)
// and the relation holds. Then it counts the step, keeps its state as the
// previous one and returns true; otherwise it changes nothing and returns
// false, and the line goes to Feed.
func (c *Checker) fastStep(f *fastPath, line []byte) bool {
	s := &f.scan
	prev := &c.prev
	// After a step the fast path took (f.ok), the previous state is one
	// it takes.
	if s.seq != c.ord.lastSeq+1 || !f.ok && (!c.havePrev || prev.DataCapped || prev.ShardID.big != nil) {
		return false
	}
	// The agent_id: the register's name, else the previous one.
	agent := s.agent.raw(line)
	sameRaw := f.ok && s.agentSame
	agentEq := sameRaw
	if s.typ == Register {
		name := s.name.raw(line)
		agentEq = string(name) == string(agent)
		if !agentEq {
			n, ok := f.decode(line, s.name)
			if !ok {
				return false
			}
			f.name = append(f.name[:0], n...)
			a, ok := f.decode(line, s.agent)
			agentEq = ok && string(a) == string(f.name)
		}
	} else if !agentEq {
		a, ok := f.decode(line, s.agent)
		agentEq = ok && f.agentID(c) && string(a) == prev.AgentID
	}
	var n int
	switch s.typ {
	case Post:
		n = f.prevLen(c) + 1
	case Distribute:
		n = s.items.n
	default:
		n = f.prevLen(c)
	}
	bisim := agentEq && s.shard == prev.ShardID.small && s.data.n == n
	exact := bisim
	if bisim {
		switch s.typ {
		case Post:
			exact = s.data.first == s.content.runes() && (f.ok && s.dataRel == dataPrepended || f.sameTail(c, line, s.data, 1))
		case Distribute:
			obs, items := line[s.data.start:s.data.end], line[s.items.start:s.items.end]
			if exact = s.dataRel == dataItems || string(obs) == string(items); !exact {
				f.nums, _ = scanNats(line, s.data.start, f.nums)
				f.other, _ = scanNats(line, s.items.start, f.other)
				exact = slices.Equal(f.nums, f.other)
			}
		default:
			exact = f.ok && s.dataRel == dataSame || f.sameTail(c, line, s.data, 0)
		}
	}
	if held := exact || (c.rel == Bisim && bisim); !held {
		return false
	}
	if s.typ == Register && !sameRaw {
		f.agentStale = true // the new agent_id is decoded when needed
	}
	// What Feed does for this step: order, counts, check, keep.
	c.ord.sawStep, c.ord.lastSeq = true, s.seq
	c.res.Steps++
	c.res.Actions.add(s.typ)
	if c.res.FirstSeq == 0 {
		c.res.FirstSeq = s.seq
	}
	c.res.LastSeq = s.seq
	c.res.Checked++
	if !exact {
		c.fail(&c.res.FirstExactFail, &c.res.ExactFailed, s.seq)
	}
	s.remember(line)
	f.ok, f.stale = true, true
	// The shard_id to keep (c.shard) is the previous state's already:
	// Checker.keep sets both.
	c.prevSeq, c.shardSeq = s.seq, s.seq
	return true
}

// smallsEqual reports whether u and n are the same list, n's values all
// below 2^64.
func smallsEqual(u []uint64, n []Nat) bool {
	if len(u) != len(n) {
		return false
	}
	for i, v := range u {
		if n[i].big != nil || n[i].small != v {
			return false
		}
	}
	return true
}
