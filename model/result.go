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

	// Records that could not be used, each counted and the first kept:
	// Undecodable lines are not records (not JSON, no kind, cut short);
	// OutOfPlace records break the order (seq not increasing, a second
	// init); Invalid records say which record they are but hold an invalid
	// state or action (a negative or fractional natural, a missing field), a
	// finding about the program that wrote them.
	Undecodable, OutOfPlace, Invalid                uint64
	FirstUndecodable, FirstOutOfPlace, FirstInvalid *Problem
	// Lost counts lost records (written where the capture lost batches);
	// LostBatches sums the batches they stand for.
	Lost, LostBatches uint64
	// SpanChecked counts the steps right after unobserved ones whose shard_id
	// was checked against the last state before them, as the Lean theorem
	// run_shard_id allows (shard_id never changes along a run); SpanSeqs
	// lists the first of them.
	SpanChecked uint64
	SpanSeqs    []SeqRange
	// FromPre counts steps checked from their own pre state; NewChains counts
	// those whose pre is not the previous state on their thread (a new chain:
	// a state the program built or took from elsewhere), NewChainSeqs lists
	// the first of them.
	FromPre, NewChains uint64
	NewChainSeqs       []SeqRange
	// Interrupted: the check was stopped before the end of its input.
	Interrupted bool

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

// Conforming reports whether the verdict is Conforming: Relation held at every
// compared step (and, for a pair, every common step had the same action), no
// record was invalid, and nothing is missing (see Verdict).
func (r *Result) Conforming() bool { return r.Verdict() == Conforming }

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
	// Theorem names the Lean theorem behind a check across unobserved steps
	// (run_shard_id); then Across is how many steps were not observed between
	// PrevSeq and Seq, and only what the theorem fixes was compared.
	Theorem string
	Across  uint64
	// FromPre: the step was checked from its own pre state (one trace), or
	// (pair) the two traces' pre states are not related.
	FromPre bool
}
