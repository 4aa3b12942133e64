package model

import "encoding/json"

// jsonResult is the --json form of a Result.
type jsonResult struct {
	Verdict          string             `json:"verdict"` // "conforming", "divergent", "incomplete" or "not a trace"
	Relation         string             `json:"relation"`
	Files            []string           `json:"files"`
	Pair             bool               `json:"pair"`
	Steps            uint64             `json:"steps"`
	Checked          uint64             `json:"checked"`
	FromInit         bool               `json:"from_init"`
	FirstSeq         uint64             `json:"first_seq"`
	LastSeq          uint64             `json:"last_seq"`
	Actions          map[string]uint64  `json:"actions"`
	Relations        map[string]jsonRel `json:"relations"`
	Divergences      uint64             `json:"divergent_steps"`
	NotObserved      uint64             `json:"not_observed"`
	Gaps             []SeqRange         `json:"gaps"`
	Unchecked        uint64             `json:"data_unchecked"`
	UncheckedSeqs    []SeqRange         `json:"data_unchecked_seqs"`
	OnlyFirst        *uint64            `json:"only_first,omitempty"`
	OnlySecond       *uint64            `json:"only_second,omitempty"`
	ActionMismatches *uint64            `json:"action_mismatches,omitempty"`
	First            *jsonDivergence    `json:"first_divergence"`
	// What could not be used, and what was checked across gaps or from pre.
	Invalid          uint64     `json:"invalid_records"`
	FirstInvalid     *Problem   `json:"first_invalid"`
	Undecodable      uint64     `json:"undecodable_lines"`
	FirstUndecodable *Problem   `json:"first_undecodable"`
	OutOfPlace       uint64     `json:"out_of_place"`
	FirstOutOfPlace  *Problem   `json:"first_out_of_place"`
	Lost             uint64     `json:"lost_records"`
	LostBatches      uint64     `json:"lost_batches"`
	SpanChecked      uint64     `json:"across_gaps_checked"`
	SpanSeqs         []SeqRange `json:"across_gaps_seqs"`
	SpanTheorem      string     `json:"across_gaps_theorem,omitempty"`
	FromPre          uint64     `json:"from_pre"`
	NewChains        uint64     `json:"new_chains"`
	NewChainSeqs     []SeqRange `json:"new_chain_seqs"`
	Interrupted      bool       `json:"interrupted"`
}

type jsonRel struct {
	Held        bool   `json:"held"`
	FailedSteps uint64 `json:"failed_steps"`
	FirstFailed uint64 `json:"first_failed_seq,omitempty"`
}

type jsonDivergence struct {
	Seq            uint64   `json:"seq"`
	Init           bool     `json:"init,omitempty"`
	File           string   `json:"file"`
	Line           int      `json:"line"`
	OtherFile      string   `json:"other_file,omitempty"`
	OtherLine      int      `json:"other_line,omitempty"`
	Action         *Action  `json:"action,omitempty"`
	OtherAction    *Action  `json:"other_action,omitempty"`
	ActionMismatch bool     `json:"action_mismatch,omitempty"`
	Expected       State    `json:"expected"`
	Observed       State    `json:"observed"`
	Differences    []string `json:"differences"`
	Theorem        string   `json:"theorem,omitempty"` // a check across unobserved steps
	Across         uint64   `json:"not_observed_before,omitempty"`
	FromPre        bool     `json:"from_pre,omitempty"`
	OtherRelation  string   `json:"other_relation"`
	OtherHolds     *bool    `json:"other_relation_holds"` // null when capping hides it
}

// JSON returns the machine form of r (one JSON object): the verdict, the
// counts, and the first divergence or null. Expected and observed states are
// trace-format states with every digit of every number.
func (r *Result) JSON() ([]byte, error) {
	j := jsonResult{
		Verdict: "conforming", Relation: r.Relation.String(), Files: r.Files, Pair: r.Pair,
		Steps: r.Steps, Checked: r.Checked, FromInit: r.FromInit, FirstSeq: r.FirstSeq, LastSeq: r.LastSeq,
		Actions: map[string]uint64{
			"register": r.Actions.Register, "post": r.Actions.Post,
			"comment": r.Actions.Comment, "distribute": r.Actions.Distribute,
		},
		Relations: map[string]jsonRel{
			"exact": {Held: r.ExactFailed == 0, FailedSteps: r.ExactFailed, FirstFailed: r.FirstExactFail},
			"bisim": {Held: r.BisimFailed == 0, FailedSteps: r.BisimFailed, FirstFailed: r.FirstBisimFail},
		},
		Divergences: r.Divergences, NotObserved: r.NotObserved, Gaps: nonNil(r.Gaps),
		Unchecked: r.Unchecked, UncheckedSeqs: nonNil(r.UncheckedSeqs),
	}
	j.Verdict = r.Verdict().String()
	j.Invalid, j.FirstInvalid = r.Invalid, r.FirstInvalid
	j.Undecodable, j.FirstUndecodable = r.Undecodable, r.FirstUndecodable
	j.OutOfPlace, j.FirstOutOfPlace = r.OutOfPlace, r.FirstOutOfPlace
	j.Lost, j.LostBatches = r.Lost, r.LostBatches
	j.SpanChecked, j.SpanSeqs = r.SpanChecked, nonNil(r.SpanSeqs)
	if r.SpanChecked > 0 {
		j.SpanTheorem = "run_shard_id"
	}
	j.FromPre, j.NewChains, j.NewChainSeqs = r.FromPre, r.NewChains, nonNil(r.NewChainSeqs)
	j.Interrupted = r.Interrupted
	if r.Pair {
		j.OnlyFirst, j.OnlySecond, j.ActionMismatches = &r.OnlyFirst, &r.OnlySecond, &r.ActionMismatches
	}
	if d := r.First; d != nil {
		jd := &jsonDivergence{
			Seq: d.Seq, Init: d.Init, File: d.File, Line: d.Line, OtherFile: d.OtherFile, OtherLine: d.OtherLine,
			Expected: d.Expected, Observed: d.Observed, Differences: d.Differences,
			OtherRelation: d.Relation.Other().String(), ActionMismatch: d.ActionMismatch,
			Theorem: d.Theorem, Across: d.Across, FromPre: d.FromPre,
		}
		if !d.Init {
			a := d.Action
			jd.Action = &a
		}
		if d.ActionMismatch {
			o := d.OtherAction
			jd.OtherAction = &o
		}
		if d.OtherKnown {
			h := d.OtherHolds
			jd.OtherHolds = &h
		}
		if jd.Differences == nil {
			jd.Differences = []string{}
		}
		j.First = jd
	}
	return json.Marshal(j)
}

func nonNil(s []SeqRange) []SeqRange {
	if s == nil {
		return []SeqRange{}
	}
	return s
}
