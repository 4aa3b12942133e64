package model

// Result is the outcome of checking one trace against the model, or two traces
// against each other. It is filled as records stream in; Checker.Result and
// CheckPair return a copy.
type Result struct {
	Relation Relation // the relation the verdict is about
	Files    []string // one file, or two for a pair
	Pair     bool

	Steps    uint64 // step records read (for a pair: steps present in both traces)
	Checked  uint64 // steps compared (a single trace cannot compare its first observed step)
	FromInit bool   // the (first) trace started with an init record
	FirstSeq uint64 // seq of the first step record, 0 when none
	LastSeq  uint64 // seq of the last step record
	Actions  ActionCounts

	// ExactFailed and BisimFailed count the checked steps where each relation
	// failed; FirstExactFail and FirstBisimFail are the first such seqs.
	ExactFailed, BisimFailed       uint64
	FirstExactFail, FirstBisimFail uint64
	Divergences                    uint64 // steps that fail Relation (plus action mismatches in a pair)
	First                          *Divergence

	// NotObserved counts steps missing from seq gaps (lost records); Gaps lists
	// the first of them.
	NotObserved uint64
	Gaps        []SeqRange
	// Unchecked counts checked steps whose data contents could not be compared
	// because a list was capped; UncheckedSeqs lists the first of them. Under
	// bisim they are fully checked (lengths suffice).
	Unchecked     uint64
	UncheckedSeqs []SeqRange

	// A pair only: steps present in only one trace, init records compared, and
	// steps whose actions differ.
	OnlyFirst, OnlySecond uint64
	InitCompared          bool
	ActionMismatches      uint64
}

// ActionCounts counts step records by action type.
type ActionCounts struct {
	Register, Post, Comment, Distribute uint64
}

func (c *ActionCounts) add(t ActionType) {
	switch t {
	case Register:
		c.Register++
	case Post:
		c.Post++
	case Comment:
		c.Comment++
	case Distribute:
		c.Distribute++
	}
}

// SeqRange is an inclusive range of seqs.
type SeqRange struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
}

// maxRanges bounds the ranges a Result keeps, so memory stays bounded.
const maxRanges = 16

// addSeqs adds [from, to] to a list of ranges, merging with the last range
// when adjacent; it stops growing at maxRanges.
func addSeqs(list []SeqRange, from, to uint64) []SeqRange {
	if n := len(list); n > 0 && list[n-1].To+1 == from {
		list[n-1].To = to
		return list
	}
	if len(list) >= maxRanges {
		return list
	}
	return append(list, SeqRange{From: from, To: to})
}

// Conforming reports whether Relation held at every compared step (and, for a
// pair, every common step had the same action).
func (r *Result) Conforming() bool { return r.Divergences == 0 }

// Held reports whether rel held at every checked step.
func (r *Result) Held(rel Relation) bool {
	if rel == Exact {
		return r.ExactFailed == 0
	}
	return r.BisimFailed == 0
}

// Divergence is the first step where the relation failed: for one trace, the
// model's expected state against the observed one; for a pair, the state of
// the first trace against the state of the second at the same seq.
type Divergence struct {
	Seq      uint64 // 0 for the init records of a pair
	File     string
	Line     int
	Relation Relation
	Action   Action
	// Expected is the model's state (one trace) or the first trace's state
	// (pair); Observed is the recorded state (one trace) or the second trace's.
	Expected, Observed State
	// Differences says exactly what differs, expected ≠ observed, e.g.
	// "data[0]: 2 ≠ 1" or "len(data) 5 ≠ 6".
	Differences []string
	// OtherHolds is the verdict under the other relation at this step;
	// OtherKnown is false when capping hides what exact would need.
	OtherHolds, OtherKnown bool
	// ActionMismatch is set for a pair whose actions differ at this seq; then
	// OtherAction is the second trace's action.
	ActionMismatch bool
	OtherAction    Action
	// OtherFile and OtherLine locate the second trace's record (pair only);
	// PrevSeq is the seq of the state the model started from (0: init).
	OtherFile string
	OtherLine int
	PrevSeq   uint64
	Init      bool // a pair's init records differ
}
