package model

// order enforces the record order of one trace: at most one init, first; step
// seqs strictly increasing. It also spots gaps.
type order struct {
	sawInit, sawStep bool
	initLine         int
	lastSeq          uint64
}

// admit validates r's place in the trace. gap is the number of steps missing
// right before r (seq jumped), counted from the init record or the previous
// step; it is 0 for the first step of a trace without init.
func (o *order) admit(r *Record) (gap uint64, err error) {
	switch r.Kind {
	case KindInit:
		switch {
		case o.sawInit:
			return 0, inputErrorf(r, "second init record (the first is on line %d): a trace holds one run; split it into two files", o.initLine)
		case o.sawStep:
			return 0, inputErrorf(r, "init record after step records: init must come first")
		}
		o.sawInit, o.initLine = true, r.Line
		return 0, nil
	case KindStep:
		if r.Seq == 0 {
			return 0, inputErrorf(r, "step record has seq 0: seq counts from 1")
		}
		if o.sawStep && r.Seq <= o.lastSeq {
			return 0, inputErrorf(r, "seq %d does not increase (the previous step has seq %d)", r.Seq, o.lastSeq)
		}
		if o.sawStep || o.sawInit {
			gap = r.Seq - o.lastSeq - 1
		}
		o.sawStep, o.lastSeq = true, r.Seq
		return gap, nil
	}
	return 0, inputErrorf(r, "unknown kind %q: want \"init\" or \"step\"", r.Kind)
}
