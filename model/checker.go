package model

import (
	"errors"
	"fmt"
	"io"
)

// Checker checks one trace against the model, one record at a time (Feed), so
// it can run live while a program is traced. Each step is judged as
// transition(previous observed state, action) against the observed state, or
// transition(pre, action) when the step carries its own pre state; the first
// step is judged against the init record when there is one, else it only sets
// the starting point (a trace from an attach starts mid-run). After a gap in
// seq, the first step after it is checked for what the proofs allow across
// unobserved steps (shard_id, Lean run_shard_id), and checking resumes
// stepwise from its state.
//
// Records that cannot be used are given to Reject (lines that did not decode)
// or refused by Feed (records out of place); both count them, so the verdict
// says what was not checked.
//
// A Checker is not safe for concurrent use.
type Checker struct {
	rel      Relation
	ord      order
	prev     State // the previous observed state, owned
	havePrev bool
	prevSeq  uint64
	// The shard_id every later state must have (run_shard_id), from the
	// last state seen, even across unobserved or invalid steps.
	shard     Nat
	haveShard bool
	shardSeq  uint64
	chains    chains
	res       Result
	onDiv     func(*Divergence) // sees every divergence (SetOnDivergence)
}

// SetOnDivergence makes the checker build every divergence, not only the
// first, and hand each to fn as it is found (for a continuous export that
// reports each one). fn must not keep d's slices past the call unless it
// copies them; the checker does not reuse them.
func (c *Checker) SetOnDivergence(fn func(d *Divergence)) { c.onDiv = fn }

// NewChecker returns a checker that judges steps under rel.
func NewChecker(rel Relation) *Checker {
	if rel != Bisim {
		rel = Exact
	}
	return &Checker{rel: rel, res: Result{Relation: rel}}
}

// Feed checks one record. A divergence is not an error: it is counted in the
// Result (and the first kept). The error is an *InputError when the record is
// out of place (a second init, seq not increasing, an unknown action type);
// it is counted too (Result.OutOfPlace), so the caller may go on.
func (c *Checker) Feed(r Record) error {
	if c.res.Files == nil && r.File != "" {
		c.res.Files = []string{r.File}
	}
	if r.Kind == KindLost {
		c.res.Lost++
		c.res.LostBatches += r.Lost
		c.havePrev = false // the lost records may hold steps of unknown seq
		return nil
	}
	if r.Kind == KindStep && (r.Action.Type < Register || r.Action.Type > Distribute) {
		return c.outOfPlace(inputErrorf(&r, "unknown action type %d", r.Action.Type))
	}
	gap, err := c.ord.admit(&r)
	if err != nil {
		return c.outOfPlace(err)
	}
	if r.Kind == KindInit {
		c.res.FromInit = true
		c.keep(&r)
		return nil
	}
	c.count(&r, gap)
	switch {
	case r.HasPre:
		c.res.FromPre++
		c.chains.follow(&c.res, &r, c.initState())
		c.check(&r, &r.Pre, 0)
	case c.havePrev:
		c.check(&r, &c.prev, c.prevSeq)
	case c.haveShard:
		c.checkAcross(&r)
	}
	c.keep(&r)
	return nil
}

// count adds step r (gap steps missing before it) to the result.
func (c *Checker) count(r *Record, gap uint64) {
	c.res.Steps++
	c.res.Actions.add(r.Action.Type)
	if c.res.FirstSeq == 0 {
		c.res.FirstSeq = r.Seq
	}
	c.res.LastSeq = r.Seq
	if gap > 0 {
		c.res.NotObserved += gap
		c.res.Gaps = addSeqs(c.res.Gaps, r.Seq-gap, r.Seq-1)
		c.havePrev = false
	}
}

// Reject counts a line that could not be decoded (err, from the decoder).
// A line that names its record (an *InputError with Kind set) is an invalid
// record: a finding; its place in the order is still taken, and the state
// after it is unknown. Any other line is undecodable: the check is
// incomplete.
func (c *Checker) Reject(err error) {
	ie, ok := err.(*InputError)
	if !ok || ie.Kind == "" {
		c.res.Undecodable++
		if c.res.FirstUndecodable == nil {
			c.res.FirstUndecodable = problemOf(err)
		}
		return
	}
	if c.res.Files == nil && ie.File != "" {
		c.res.Files = []string{ie.File}
	}
	r := Record{Kind: ie.Kind, Seq: ie.Seq, File: ie.File, Line: ie.Line}
	gap, oerr := c.ord.admit(&r)
	if oerr != nil {
		c.outOfPlace(oerr)
		return
	}
	c.res.Invalid++
	if c.res.FirstInvalid == nil {
		c.res.FirstInvalid = problemOf(err)
	}
	if r.Kind == KindInit {
		c.res.FromInit = true
		c.havePrev, c.haveShard = false, false
		return
	}
	c.count(&r, gap)
	c.havePrev = false // the shard_id to keep is still the last one seen
}

// outOfPlace counts a record refused for its place and returns err.
func (c *Checker) outOfPlace(err error) error {
	if ie, ok := err.(*InputError); ok {
		ie.Skippable = true
	}
	c.res.OutOfPlace++
	if c.res.FirstOutOfPlace == nil {
		c.res.FirstOutOfPlace = problemOf(err)
	}
	return err
}

// initState is the init state while no step has been seen, else nil.
func (c *Checker) initState() *State {
	if c.res.FromInit && c.res.Steps == 1 && c.prevSeq == 0 && c.havePrev {
		return &c.prev
	}
	return nil
}

// keep makes r's state the previous state, copying it into the checker's own
// buffer (the caller may reuse r's slices).
func (c *Checker) keep(r *Record) {
	data := append(c.prev.Data[:0], r.State.Data...)
	c.prev = r.State
	c.prev.Data = data
	c.havePrev = true
	c.prevSeq = r.Seq
	c.shard, c.haveShard, c.shardSeq = r.State.ShardID, true, r.Seq
}

// checkAcross checks the step after unobserved (or invalid) steps for what
// holds along any run: its shard_id is the last one seen (Lean run_shard_id).
func (c *Checker) checkAcross(r *Record) {
	c.res.SpanChecked++
	c.res.SpanSeqs = addSeqs(c.res.SpanSeqs, r.Seq, r.Seq)
	if r.State.ShardID.Equal(c.shard) {
		return
	}
	c.fail(&c.res.FirstExactFail, &c.res.ExactFailed, r.Seq)
	c.fail(&c.res.FirstBisimFail, &c.res.BisimFailed, r.Seq)
	c.res.Divergences++
	if c.res.First != nil {
		return
	}
	expected := cloneState(r.State)
	expected.ShardID = c.shard
	observed := cloneState(r.State)
	c.res.First = &Divergence{
		Seq: r.Seq, File: r.File, Line: r.Line, Relation: c.rel,
		Action: cloneAction(r.Action), Expected: expected, Observed: observed,
		Differences: []string{fmt.Sprintf("shard_id: %s ≠ %s", c.shard, r.State.ShardID)},
		PrevSeq:     c.shardSeq, Theorem: "run_shard_id", Across: r.Seq - c.shardSeq - 1,
		OtherHolds: false, OtherKnown: true,
	}
}

func (c *Checker) fail(first, count *uint64, seq uint64) {
	if *count == 0 {
		*first = seq
	}
	*count++
}

// check judges one step against the model, from the state from (the previous
// observed one, at seq prevSeq, or the step's own pre).
func (c *Checker) check(r *Record, from *State, prevSeq uint64) {
	exact, known, bisim := stepHolds(from, &r.Action, &r.State)
	c.res.Checked++
	if !known {
		c.res.Unchecked++
		c.res.UncheckedSeqs = addSeqs(c.res.UncheckedSeqs, r.Seq, r.Seq)
	}
	if !exact {
		c.fail(&c.res.FirstExactFail, &c.res.ExactFailed, r.Seq)
	}
	if !bisim {
		c.fail(&c.res.FirstBisimFail, &c.res.BisimFailed, r.Seq)
	}
	held := exact
	if c.rel == Bisim {
		held = bisim
	}
	if held {
		return
	}
	c.res.Divergences++
	if c.res.First != nil && c.onDiv == nil {
		return
	}
	expected := Transition(*from, r.Action)
	observed := cloneState(r.State)
	d := &Divergence{
		Seq: r.Seq, File: r.File, Line: r.Line, Relation: c.rel,
		Action: cloneAction(r.Action), Expected: expected, Observed: observed,
		Differences: differences(expected, observed, c.rel),
		PrevSeq:     prevSeq, FromPre: from == &r.Pre,
	}
	if c.rel == Exact {
		d.OtherHolds, d.OtherKnown = bisim, true
	} else {
		d.OtherHolds, d.OtherKnown = exact, true // bisim failed, so exact failed too
	}
	if c.res.First == nil {
		c.res.First = d
	}
	if c.onDiv != nil {
		c.onDiv(d)
	}
}

// stepHolds judges observed against transition(prev, a) without building the
// expected state: exact and bisim are the two relations, and known is false
// when a capped list hides data contents from exact (which then covers
// everything else). It agrees with Equal and Bisimilar on Transition(prev, a)
// (a property test checks it).
func stepHolds(prev *State, a *Action, obs *State) (exact, known, bisim bool) {
	agent := prev.AgentID
	if a.Type == Register {
		agent = a.Name
	}
	var n uint64
	switch a.Type {
	case Post:
		n = prev.Len() + 1
	case Distribute:
		n = a.ItemsLength()
	default:
		n = prev.Len()
	}
	if obs.AgentID != agent || !obs.ShardID.Equal(prev.ShardID) || obs.Len() != n {
		return false, true, false
	}
	if obs.DataCapped {
		return true, false, true
	}
	switch a.Type {
	case Post:
		if !obs.Data[0].Equal(NatOf(a.ContentLength())) {
			return false, true, true
		}
		if prev.DataCapped {
			return true, false, true
		}
		return natsEqual(obs.Data[1:], prev.Data), true, true
	case Distribute:
		if a.ItemsCapped {
			return true, false, true
		}
		return natsEqual(obs.Data, a.Items), true, true
	default:
		if prev.DataCapped {
			return true, false, true
		}
		return natsEqual(obs.Data, prev.Data), true, true
	}
}

// Result returns what the checker has seen so far.
func (c *Checker) Result() Result { return c.res }

// FirstDivergence returns the first divergent step, or nil.
func (c *Checker) FirstDivergence() *Divergence { return c.res.First }

// CheckTrace reads a whole trace from d and checks it under rel. The error is
// an *InputError for malformed input (including an empty trace) or a read
// error; a divergence is reported in the Result, not as an error.
func CheckTrace(d *Decoder, rel Relation) (Result, error) {
	res, _, err := checkLines(d, rel)
	return res, err
}

// checkSource is CheckTrace over a given record source. Lines that do not
// decode and records out of place are counted and skipped; the error is for
// input that cannot be checked at all (empty, not a trace, unreadable).
func checkSource(d *Decoder, src recordSource, rel Relation) (Result, error) {
	c := NewChecker(rel)
	c.res.Files = []string{d.Name()}
	records := 0
	for {
		rec, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		records++
		if err == nil {
			_ = c.Feed(*rec) // counted in the result when out of place
			continue
		}
		if !skippable(err) {
			return c.res, err
		}
		c.Reject(err)
	}
	if records == 0 {
		return c.res, &InputError{File: d.Name(), Msg: "empty trace: no records; a trace has one JSON record per line"}
	}
	if c.res.Verdict() == NotATrace {
		return c.res, notATraceError(d.Name(), c.res.FirstUndecodable)
	}
	return c.res, nil
}

// skippable reports whether err is about one line only (an *InputError
// with Skippable set): reading can go on past it.
func skippable(err error) bool {
	var ie *InputError
	return errors.As(err, &ie) && ie.Skippable
}

func cloneState(s State) State {
	s.Data = cloneNats(s.Data)
	return s
}

func cloneAction(a Action) Action {
	a.Items = cloneNats(a.Items)
	cloneContent(&a)
	return a
}
