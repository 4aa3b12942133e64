package session

import (
	"fmt"
	"io"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/model"
)

// Verdict is the outcome of the live check.
type Verdict struct {
	Captured  bool         // any record was captured
	Steps     uint64       // steps checked over all processes
	Result    model.Result // the first divergent process's result, else the first process's
	PID       int          // the process Result is about
	Divergent bool         // a divergence or an invalid record (exit 1)
	// Incomplete: no divergence, but some steps could not be checked (a gap,
	// an undecodable or out-of-place record, a lost batch); NotATrace: a
	// process wrote not one record of the trace format. Each is what tracer
	// check says of that process's trace file.
	Incomplete, NotATrace bool
	Malformed             uint64 // records that did not decode or were out of place
}

// Verdict returns the outcome of the check (after Detach).
func (t *Transitions) Verdict() Verdict {
	t.mu.Lock()
	defer t.mu.Unlock()
	var v Verdict
	v.Captured = t.decoded
	for i, id := range t.order {
		p := t.procs[id]
		r := p.checker.Result()
		v.Steps += r.Steps
		v.Malformed += r.Undecodable + r.OutOfPlace + r.Invalid
		verdict := r.Verdict()
		if i == 0 || (!v.Divergent && verdict == model.Divergent) {
			v.Result, v.PID = r, id.pid
			v.Divergent = verdict == model.Divergent
		}
		v.Incomplete = v.Incomplete || verdict == model.Incomplete
		v.NotATrace = v.NotATrace || verdict == model.NotATrace
	}
	// Batches were lost, maybe of a process not seen at all. Execs not
	// followed count only when transitions were asked for or reported: a
	// plain profiling run says nothing about transitions.
	n, lost := unattributedLoss(t.stats)
	if n > 0 || t.stats.LostBatches > 0 || (lost && (len(t.order) > 0 || t.cfg.Trace != "")) {
		v.Incomplete = true
	}
	return v
}

// Report prints the per-action table and the verdict of the live check.
// It is called after the profile summary.
func (t *Transitions) Report(w io.Writer, prof *export.Profile) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.order) == 0 {
		return
	}
	writeActionTable(w, t.actions, prof)
	fmt.Fprintf(w, "\ncapture: %s\n", t.stats)
	for _, id := range t.order {
		p := t.procs[id]
		r := p.checker.Result()
		fmt.Fprintf(w, "\ntransitions of pid %d", id.pid)
		if p.path != "" {
			fmt.Fprintf(w, " (trace %s)", p.path)
		}
		fmt.Fprintln(w, ":")
		r.WriteText(w)
	}
}

// Reporter is a Plugin that adds to the terminal summary: Report is called
// after the profile summary, with the decorated profile.
type Reporter interface {
	Report(w io.Writer, prof *export.Profile)
}
