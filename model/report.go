package model

import (
	"fmt"
	"io"
	"strings"
)

// shownItems is how many data items a human report prints per list.
const shownItems = 16

// WriteText writes the human report: the first divergence (if any), then the
// summary.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	if r.First != nil {
		r.First.writeText(&b, r)
		b.WriteByte('\n')
	}
	if p := r.FirstInvalid; p != nil {
		writeInvalid(&b, p)
		b.WriteByte('\n')
	}
	r.writeSummary(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary returns the human summary alone: verdict, steps, actions by type,
// the relations that held, steps not observed, what could not be checked.
func (r *Result) Summary() string {
	var b strings.Builder
	r.writeSummary(&b)
	return b.String()
}

// Report returns the human report of the divergence alone.
func (d *Divergence) Report(r *Result) string {
	var b strings.Builder
	d.writeText(&b, r)
	return b.String()
}

func (d *Divergence) writeText(b *strings.Builder, r *Result) {
	what := "step " + fmt.Sprint(d.Seq) + " (" + d.Action.Type.String() + ")"
	if d.Init {
		what = "the init records"
	}
	if d.Theorem != "" {
		d.writeAcross(b, what)
		return
	}
	if !r.Pair {
		fmt.Fprintf(b, "DIVERGENCE at %s%s, under --relation %s\n", what, location(", ", d.File, d.Line), d.Relation)
		fmt.Fprintf(b, "  action:   %s\n", appendAction(nil, d.Action, shownItems))
		from := fmt.Sprintf("the state observed at step %d", d.PrevSeq)
		switch {
		case d.FromPre:
			from = "the step's own pre state"
		case d.PrevSeq == 0:
			from = "the init state"
		}
		fmt.Fprintf(b, "  expected: %s\n            (the model: transition of %s by this action)\n", appendState(nil, d.Expected, shownItems), from)
		fmt.Fprintf(b, "  observed: %s\n", appendState(nil, d.Observed, shownItems))
		writeDiffs(b, "expected ≠ observed", d.Differences)
	} else {
		a, o := r.Files[0], r.Files[1]
		problem := "the states are not related"
		switch {
		case d.ActionMismatch:
			problem = "the actions differ"
		case d.FromPre:
			problem = "the pre states are not related"
		}
		fmt.Fprintf(b, "DIVERGENCE at %s under --relation %s: %s\n", what, d.Relation, problem)
		if !d.Init {
			fmt.Fprintf(b, "  action   %s: %s\n", location("", a, d.Line), appendAction(nil, d.Action, shownItems))
			other := d.Action
			if d.ActionMismatch {
				other = d.OtherAction
			}
			fmt.Fprintf(b, "  action   %s: %s\n", location("", o, d.OtherLine), appendAction(nil, other, shownItems))
		}
		fmt.Fprintf(b, "  state    %s: %s\n", location("", a, d.Line), appendState(nil, d.Expected, shownItems))
		fmt.Fprintf(b, "  state    %s: %s\n", location("", o, d.OtherLine), appendState(nil, d.Observed, shownItems))
		writeDiffs(b, "first ≠ second", d.Differences)
	}
	other := d.Relation.Other()
	switch {
	case !d.OtherKnown:
		fmt.Fprintf(b, "  under --relation %s: cannot tell at this step (capped data)\n", other)
	case d.OtherHolds && other == Bisim:
		fmt.Fprintf(b, "  under --relation bisim: holds at this step (same agent_id, shard_id and data length)\n")
	case d.OtherHolds:
		fmt.Fprintf(b, "  under --relation exact: holds at this step\n")
	default:
		fmt.Fprintf(b, "  under --relation %s: also fails at this step\n", other)
	}
}

// writeAcross writes a divergence found across unobserved steps: only what
// the theorem fixes was compared.
func (d *Divergence) writeAcross(b *strings.Builder, what string) {
	from := fmt.Sprintf("the state observed at step %d", d.PrevSeq)
	if d.PrevSeq == 0 {
		from = "the init state"
	}
	fmt.Fprintf(b, "DIVERGENCE at %s%s, after %d %s not observed\n", what, location(", ", d.File, d.Line),
		d.Across, plural(d.Across, "step", "steps"))
	fmt.Fprintf(b, "  action:   %s\n", appendAction(nil, d.Action, shownItems))
	fmt.Fprintf(b, "  expected: shard_id %s, the shard_id of %s\n", d.Expected.ShardID, from)
	fmt.Fprintf(b, "            (the Lean theorem %s: shard_id never changes along any run, so no\n", d.Theorem)
	fmt.Fprintf(b, "            steps in between can change it)\n")
	fmt.Fprintf(b, "  observed: %s\n", appendState(nil, d.Observed, shownItems))
	writeDiffs(b, "expected ≠ observed", d.Differences)
	fmt.Fprintf(b, "  under --relation exact and bisim alike (both require equal shard_id)\n")
}

// writeInvalid writes the first invalid record.
func writeInvalid(b *strings.Builder, p *Problem) {
	what := "the init record"
	if p.Kind == KindStep {
		what = fmt.Sprintf("step %d", p.Seq)
	}
	fmt.Fprintf(b, "INVALID RECORD at %s%s: %s\n", what, location(", ", p.File, p.Line), p.Msg)
	fmt.Fprintf(b, "  the program wrote a record that no state or action of the model can be: a finding\n")
	fmt.Fprintf(b, "  about the implementation (the steps right after it cannot be checked from it)\n")
}

// location renders file:line, file, or line N (records fed live may have no
// file or line), after prefix; empty when there is neither.
func location(prefix, file string, line int) string {
	switch {
	case file != "" && line > 0:
		return fmt.Sprintf("%s%s:%d", prefix, file, line)
	case file != "":
		return prefix + file
	case line > 0:
		return fmt.Sprintf("%sline %d", prefix, line)
	}
	return ""
}

func writeDiffs(b *strings.Builder, legend string, diffs []string) {
	if len(diffs) == 0 {
		return
	}
	fmt.Fprintf(b, "  differs (%s):\n", legend)
	for _, d := range diffs {
		fmt.Fprintf(b, "    %s\n", d)
	}
}

func (r *Result) writeSummary(b *strings.Builder) {
	name := strings.Join(r.Files, " ~ ")
	if name == "" {
		name = "trace"
	}
	switch r.Verdict() {
	case Conforming:
		fmt.Fprintf(b, "%s: conforming under --relation %s\n", name, r.Relation)
	case Divergent:
		var parts []string
		if r.Divergences > 0 {
			parts = append(parts, fmt.Sprintf("%d divergent %s, the first at %s",
				r.Divergences, plural(r.Divergences, "step", "steps"), seqName(r.First)))
		}
		if r.Invalid > 0 {
			parts = append(parts, fmt.Sprintf("%d invalid %s, the first at %s",
				r.Invalid, plural(r.Invalid, "record", "records"), problemPlace(r.FirstInvalid)))
		}
		fmt.Fprintf(b, "%s: DIVERGENT under --relation %s: %s\n", name, r.Relation, strings.Join(parts, "; "))
	case Incomplete:
		fmt.Fprintf(b, "%s: INCOMPLETE under --relation %s: no divergence in what was checked, but %s\n",
			name, r.Relation, strings.Join(r.missing(), ", "))
	case NotATrace:
		fmt.Fprintf(b, "%s: NOT A TRACE: no line is a record of the trace format\n", name)
	}
	span := ""
	switch {
	case r.Steps > 0 && r.FirstSeq == r.LastSeq:
		span = fmt.Sprintf(" (seq %d)", r.FirstSeq)
	case r.Steps > 0:
		span = fmt.Sprintf(" (seq %d–%d)", r.FirstSeq, r.LastSeq)
	}
	switch {
	case r.Pair:
		fmt.Fprintf(b, "  steps:        %d in both traces%s\n", r.Steps, span)
		if r.InitCompared {
			fmt.Fprintf(b, "  init:         the init records were compared\n")
		}
		if r.OnlyFirst > 0 || r.OnlySecond > 0 {
			fmt.Fprintf(b, "  unmatched:    %d steps only in %s, %d only in %s (not compared)\n", r.OnlyFirst, r.Files[0], r.OnlySecond, r.Files[1])
		}
	case r.FromInit:
		fmt.Fprintf(b, "  steps:        %d%s, replayed from the init record\n", r.Steps, span)
	default:
		fmt.Fprintf(b, "  steps:        %d%s, no init record: checked stepwise from the state observed at seq %d\n", r.Steps, span, r.FirstSeq)
	}
	a := r.Actions
	fmt.Fprintf(b, "  actions:      register %d, post %d, comment %d, distribute %d\n", a.Register, a.Post, a.Comment, a.Distribute)
	if r.Pair {
		fmt.Fprintf(b, "  compared:     %d steps (action and state)\n", r.Checked)
		if r.ActionMismatches > 0 {
			fmt.Fprintf(b, "  actions differ at %d %s\n", r.ActionMismatches, plural(r.ActionMismatches, "step", "steps"))
		}
	} else {
		fmt.Fprintf(b, "  checked:      %d steps against the model\n", r.Checked)
	}
	r.writeRelation(b, Exact, r.ExactFailed, r.FirstExactFail)
	r.writeRelation(b, Bisim, r.BisimFailed, r.FirstBisimFail)
	if r.NotObserved > 0 {
		fmt.Fprintf(b, "  not observed: %d %s (seq %s): records lost; checking resumed stepwise after each gap\n",
			r.NotObserved, plural(r.NotObserved, "step", "steps"), rangesText(r.Gaps))
	}
	if r.SpanChecked > 0 {
		fmt.Fprintf(b, "  across gaps:  %d %s (seq %s) checked for shard_id only, against the last state seen\n"+
			"                before them (Lean theorem run_shard_id: shard_id never changes along a run)\n",
			r.SpanChecked, plural(r.SpanChecked, "step", "steps"), rangesText(r.SpanSeqs))
	}
	if r.Lost > 0 {
		fmt.Fprintf(b, "  lost:         %d %s lost in capture (%d lost %s in the trace)\n",
			r.LostBatches, plural(r.LostBatches, "batch", "batches"), r.Lost, plural(r.Lost, "record", "records"))
	}
	writeProblems(b, "invalid:", r.Invalid, "record", "records", r.FirstInvalid, "a finding, not a loss")
	writeProblems(b, "undecodable:", r.Undecodable, "line", "lines", r.FirstUndecodable, "not checked")
	writeProblems(b, "out of place:", r.OutOfPlace, "record", "records", r.FirstOutOfPlace, "skipped")
	if r.FromPre > 0 {
		fmt.Fprintf(b, "  from pre:     %d %s checked from their own pre state", r.FromPre, plural(r.FromPre, "step", "steps"))
		if r.NewChains > 0 {
			fmt.Fprintf(b, "; %d new %s (seq %s): pre was not the previous state on the thread", r.NewChains, plural(r.NewChains, "chain", "chains"), rangesText(r.NewChainSeqs))
		}
		b.WriteByte('\n')
	}
	if r.Interrupted {
		fmt.Fprintf(b, "  interrupted:  the check was stopped before the end of the input\n")
	}
	if r.Unchecked > 0 {
		note := "agent_id, shard_id and lengths were checked"
		if r.Relation == Bisim {
			note = "bisim needs only lengths, so it was fully checked"
		}
		fmt.Fprintf(b, "  not checked:  data contents at %d %s (seq %s) for exact: capped in the trace; %s\n",
			r.Unchecked, plural(r.Unchecked, "step", "steps"), rangesText(r.UncheckedSeqs), note)
	}
}

func (r *Result) writeRelation(b *strings.Builder, rel Relation, failed, first uint64) {
	label := rel.String() + ":"
	switch {
	case r.Checked == 0 && !r.InitCompared:
		fmt.Fprintf(b, "  %-13s nothing to check\n", label)
	case failed > 0 && first == 0:
		fmt.Fprintf(b, "  %-13s failed at %d %s, the first at the init records\n", label, failed, plural(failed, "step", "steps"))
	case failed > 0:
		fmt.Fprintf(b, "  %-13s failed at %d %s, the first at seq %d\n", label, failed, plural(failed, "step", "steps"), first)
	case rel == Exact && r.Unchecked > 0:
		fmt.Fprintf(b, "  %-13s held wherever it could be checked (see not checked)\n", label)
	default:
		fmt.Fprintf(b, "  %-13s held at every step\n", label)
	}
}

// missing lists why an incomplete result is incomplete.
func (r *Result) missing() []string {
	var out []string
	if r.NotObserved > 0 {
		out = append(out, fmt.Sprintf("%d %s not observed", r.NotObserved, plural(r.NotObserved, "step", "steps")))
	}
	if r.Undecodable > 0 {
		out = append(out, fmt.Sprintf("%d undecodable %s", r.Undecodable, plural(r.Undecodable, "line", "lines")))
	}
	if r.OutOfPlace > 0 {
		out = append(out, fmt.Sprintf("%d %s out of place", r.OutOfPlace, plural(r.OutOfPlace, "record", "records")))
	}
	if r.Lost > 0 {
		out = append(out, fmt.Sprintf("%d %s lost in capture", r.LostBatches, plural(r.LostBatches, "batch", "batches")))
	}
	if r.Interrupted {
		out = append(out, "the check was interrupted")
	}
	if r.Checked == 0 && !r.InitCompared {
		out = append(out, "no step could be checked")
	}
	return out
}

// writeProblems writes one count of unusable records with the first of them.
func writeProblems(b *strings.Builder, label string, n uint64, one, many string, first *Problem, note string) {
	if n == 0 {
		return
	}
	fmt.Fprintf(b, "  %-13s %d %s (%s); the first: %s\n", label, n, plural(n, one, many), note, first)
}

func problemPlace(p *Problem) string {
	if p == nil {
		return "?"
	}
	if p.Kind == KindStep {
		return fmt.Sprintf("seq %d", p.Seq)
	}
	return "the init record"
}

func seqName(d *Divergence) string {
	if d == nil {
		return "?"
	}
	if d.Init {
		return "the init records"
	}
	return fmt.Sprintf("seq %d", d.Seq)
}

func plural(n uint64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// rangesText renders ranges as "5–8, 12"; a trailing ", …" when the list was
// cut at maxRanges.
func rangesText(rs []SeqRange) string {
	parts := make([]string, 0, len(rs)+1)
	for _, s := range rs {
		if s.From == s.To {
			parts = append(parts, fmt.Sprint(s.From))
		} else {
			parts = append(parts, fmt.Sprintf("%d–%d", s.From, s.To))
		}
	}
	if len(rs) >= maxRanges {
		parts = append(parts, "…")
	}
	return strings.Join(parts, ", ")
}
