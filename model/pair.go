package model

import (
	"errors"
	"fmt"
	"io"
)

// pairSide is one trace of a pair: its decoder, its order, and the current
// record (nil at the end).
type pairSide struct {
	d   *Decoder
	src recordSource
	cur *Record
	n   int     // lines read
	c   Checker // counts this side's unusable records (its own result)
	// seen counts the usable records (including lost ones).
	seen int
}

// next reads the next usable record of the side, validating its order.
// Lines that do not decode, records out of place and lost records are
// counted in the side's checker and skipped, as CheckTrace does.
func (s *pairSide) next() error {
	for {
		rec, err := s.src.next()
		if errors.Is(err, io.EOF) {
			s.cur = nil
			if s.n == 0 {
				return &InputError{File: s.d.Name(), Msg: "empty trace: no records; a trace has one JSON record per line"}
			}
			return nil
		}
		s.n++
		if err != nil {
			if !skippable(err) {
				return err
			}
			s.c.Reject(err)
			continue
		}
		if rec.Kind == KindLost {
			s.seen++
			_ = s.c.Feed(*rec)
			continue
		}
		if rec.Kind == KindStep && (rec.Action.Type < Register || rec.Action.Type > Distribute) {
			s.c.outOfPlace(inputErrorf(rec, "unknown action type %d", rec.Action.Type))
			continue
		}
		gap, err := s.c.ord.admit(rec)
		if err != nil {
			s.c.outOfPlace(err)
			continue
		}
		if gap > 0 && rec.Kind == KindStep {
			s.c.res.NotObserved += gap
			s.c.res.Gaps = addSeqs(s.c.res.Gaps, rec.Seq-gap, rec.Seq-1)
		}
		s.seen++
		s.cur = rec
		return nil
	}
}

// merge adds what the side could not use to the pair's result.
func (s *pairSide) merge(res *Result) {
	r := &s.c.res
	res.Undecodable += r.Undecodable
	res.OutOfPlace += r.OutOfPlace
	res.Invalid += r.Invalid
	res.Lost += r.Lost
	res.LostBatches += r.LostBatches
	res.NotObserved += r.NotObserved
	for _, g := range r.Gaps {
		res.Gaps = addSeqs(res.Gaps, g.From, g.To)
	}
	for _, p := range []struct {
		dst **Problem
		src *Problem
	}{
		{&res.FirstUndecodable, r.FirstUndecodable}, {&res.FirstOutOfPlace, r.FirstOutOfPlace}, {&res.FirstInvalid, r.FirstInvalid},
	} {
		if *p.dst == nil {
			*p.dst = p.src
		}
	}
}

// CheckPair checks two traces against each other under rel: the steps with
// the same seq in both must have the same action and related states, and so
// must the init records when both traces have one. Steps present in only one
// trace are counted, not judged. Both traces are streamed side by side.
func CheckPair(a, b *Decoder, rel Relation) (Result, error) {
	if rel != Bisim {
		rel = Exact
	}
	res := Result{Relation: rel, Files: []string{a.Name(), b.Name()}, Pair: true}
	A, B := &pairSide{d: a, src: newSource(a)}, &pairSide{d: b, src: newSource(b)}
	defer A.src.close()
	defer B.src.close()
	res, err := comparePair(&res, A, B)
	A.merge(&res)
	B.merge(&res)
	if err != nil {
		return res, err
	}
	for _, s := range []*pairSide{A, B} {
		if s.c.res.Undecodable > 0 && s.c.res.Invalid == 0 && s.seen == 0 {
			return res, notATraceError(s.d.Name(), s.c.res.FirstUndecodable)
		}
	}
	if res.Steps == 0 && !res.InitCompared && res.Invalid == 0 {
		return res, &InputError{Msg: fmt.Sprintf("%s and %s have no seq in common and not both an init record: nothing to compare; give two traces of the same workload", a.Name(), b.Name())}
	}
	return res, nil
}

// comparePair walks both sides in seq order.
func comparePair(r *Result, A, B *pairSide) (Result, error) {
	res := *r
	if err := A.next(); err != nil {
		return res, err
	}
	if err := B.next(); err != nil {
		return res, err
	}
	// Init records: compared when both have one, else skipped.
	if A.cur != nil && A.cur.Kind == KindInit {
		res.FromInit = true
	}
	if A.cur != nil && B.cur != nil && A.cur.Kind == KindInit && B.cur.Kind == KindInit {
		res.InitCompared = true
		judgePair(&res, A.cur, B.cur)
	}
	for _, s := range []*pairSide{A, B} {
		if s.cur != nil && s.cur.Kind == KindInit {
			if err := s.next(); err != nil {
				return res, err
			}
		}
	}
	for A.cur != nil || B.cur != nil {
		switch {
		case B.cur == nil || (A.cur != nil && A.cur.Seq < B.cur.Seq):
			res.OnlyFirst++
			if err := A.next(); err != nil {
				return res, err
			}
			continue
		case A.cur == nil || B.cur.Seq < A.cur.Seq:
			res.OnlySecond++
			if err := B.next(); err != nil {
				return res, err
			}
			continue
		}
		res.Steps++
		res.Actions.add(A.cur.Action.Type)
		if res.FirstSeq == 0 {
			res.FirstSeq = A.cur.Seq
		}
		res.LastSeq = A.cur.Seq
		judgePair(&res, A.cur, B.cur)
		if err := A.next(); err != nil {
			return res, err
		}
		if err := B.next(); err != nil {
			return res, err
		}
	}
	return res, nil
}

// judgePair compares two records of the same seq (or two init records).
func judgePair(res *Result, x, y *Record) {
	if x.Kind == KindStep {
		res.Checked++
	}
	sameAction := x.Kind == KindInit || actionsEqual(&x.Action, &y.Action)
	exact, known := Equal(x.State, y.State)
	bisim := Bisimilar(x.State, y.State)
	// When both steps carry pre, their pre states must be related too.
	preHeld := true
	if x.HasPre && y.HasPre {
		pe, pk := Equal(x.Pre, y.Pre)
		pb := Bisimilar(x.Pre, y.Pre)
		exact, bisim = exact && pe, bisim && pb
		known = known && (pk || !pe)
		preHeld = pe
		if res.Relation == Bisim {
			preHeld = pb
		}
	}
	if !known {
		res.Unchecked++
		res.UncheckedSeqs = addSeqs(res.UncheckedSeqs, x.Seq, x.Seq)
	}
	if !exact {
		if res.ExactFailed == 0 {
			res.FirstExactFail = x.Seq
		}
		res.ExactFailed++
	}
	if !bisim {
		if res.BisimFailed == 0 {
			res.FirstBisimFail = x.Seq
		}
		res.BisimFailed++
	}
	if !sameAction {
		res.ActionMismatches++
	}
	held := exact
	if res.Relation == Bisim {
		held = bisim
	}
	if held && sameAction {
		return
	}
	res.Divergences++
	if res.First != nil {
		return
	}
	d := &Divergence{
		Seq: x.Seq, File: x.File, Line: x.Line, Relation: res.Relation,
		Action: cloneAction(x.Action), Expected: cloneState(x.State), Observed: cloneState(y.State),
		OtherFile: y.File, OtherLine: y.Line, Init: x.Kind == KindInit,
	}
	if !sameAction {
		d.ActionMismatch = true
		d.OtherAction = cloneAction(y.Action)
		d.Differences = actionDifferences(x.Action, y.Action)
	}
	if !preHeld {
		d.FromPre = true
		for _, diff := range differences(x.Pre, y.Pre, res.Relation) {
			d.Differences = append(d.Differences, "pre "+diff)
		}
	}
	d.Differences = append(d.Differences, differences(x.State, y.State, res.Relation)...)
	if res.Relation == Exact {
		d.OtherHolds, d.OtherKnown = bisim, true
	} else {
		d.OtherHolds, d.OtherKnown = exact, known
	}
	res.First = d
}
