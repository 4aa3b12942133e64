package model

import (
	"errors"
	"io"
)

// Checker checks one trace against the model, one record at a time (Feed), so
// it can run live while a program is traced. Each step is judged as
// transition(previous observed state, action) against the observed state; the
// first step is judged against the init record when there is one, else it only
// sets the starting point (a trace from an attach starts mid-run). After a gap
// in seq, checking resumes stepwise from the first state after the gap.
//
// A Checker is not safe for concurrent use.
type Checker struct {
	rel      Relation
	ord      order
	prev     State // the previous observed state, owned
	havePrev bool
	prevSeq  uint64
	res      Result
	onDiv    func(*Divergence) // sees every divergence (SetOnDivergence)
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
// out of place (a second init, seq not increasing, an unknown action type).
func (c *Checker) Feed(r Record) error {
	if c.res.Files == nil && r.File != "" {
		c.res.Files = []string{r.File}
	}
	if r.Kind == KindStep && (r.Action.Type < Register || r.Action.Type > Distribute) {
		return inputErrorf(&r, "unknown action type %d", r.Action.Type)
	}
	gap, err := c.ord.admit(&r)
	if err != nil {
		return err
	}
	if r.Kind == KindInit {
		c.res.FromInit = true
		c.keep(&r)
		return nil
	}
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
	if c.havePrev {
		c.check(&r)
	}
	c.keep(&r)
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
}

// check judges one step against the model.
func (c *Checker) check(r *Record) {
	exact, known, bisim := stepHolds(&c.prev, &r.Action, &r.State)
	c.res.Checked++
	if !known {
		c.res.Unchecked++
		c.res.UncheckedSeqs = addSeqs(c.res.UncheckedSeqs, r.Seq, r.Seq)
	}
	if !exact {
		if c.res.ExactFailed == 0 {
			c.res.FirstExactFail = r.Seq
		}
		c.res.ExactFailed++
	}
	if !bisim {
		if c.res.BisimFailed == 0 {
			c.res.FirstBisimFail = r.Seq
		}
		c.res.BisimFailed++
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
	expected := Transition(c.prev, r.Action)
	observed := cloneState(r.State)
	d := &Divergence{
		Seq: r.Seq, File: r.File, Line: r.Line, Relation: c.rel,
		Action: cloneAction(r.Action), Expected: expected, Observed: observed,
		Differences: differences(expected, observed, c.rel),
		PrevSeq:     c.prevSeq,
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
	src := newSource(d)
	defer src.close()
	return checkSource(d, src, rel)
}

// checkSource is CheckTrace over a given record source.
func checkSource(d *Decoder, src recordSource, rel Relation) (Result, error) {
	c := NewChecker(rel)
	c.res.Files = []string{d.Name()}
	records := 0
	for {
		rec, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return c.res, err
		}
		records++
		if err := c.Feed(*rec); err != nil {
			return c.res, err
		}
	}
	if records == 0 {
		return c.res, &InputError{File: d.Name(), Msg: "empty trace: no records; a trace has one JSON record per line"}
	}
	return c.res, nil
}

func cloneState(s State) State {
	s.Data = cloneNats(s.Data)
	return s
}

func cloneAction(a Action) Action {
	a.Items = cloneNats(a.Items)
	return a
}
