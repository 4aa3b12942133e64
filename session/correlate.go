package session

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/model"
)

// window is one step's time on its thread.
type window struct {
	t0, t1 uint64 // CLOCK_MONOTONIC ns
	seq    uint64
	action model.ActionType
}

// stepWindows holds the steps of each thread, ordered by t0 after sort.
type stepWindows map[int][]window

func (s stepWindows) add(tid int, w window) { s[tid] = append(s[tid], w) }

// sort orders each thread's windows by start (they mostly arrive in order).
func (s stepWindows) sort() {
	for _, ws := range s {
		if !sort.SliceIsSorted(ws, func(i, j int) bool { return ws[i].t0 < ws[j].t0 }) {
			sort.SliceStable(ws, func(i, j int) bool { return ws[i].t0 < ws[j].t0 })
		}
	}
}

// find returns the step running on tid at time ts: the last window starting
// at or before ts, if it has not ended before ts.
func (s stepWindows) find(tid int, ts uint64) (window, bool) {
	ws := s[tid]
	i := sort.Search(len(ws), func(i int) bool { return ws[i].t0 > ts }) - 1
	if i < 0 || ws[i].t1 < ts {
		return window{}, false
	}
	return ws[i], true
}

// Decorate labels a sample with the step whose [t0, t1] holds its time on
// the same thread: pprof's step (NumLabel) and action (Label).
func (t *Transitions) Decorate(in *loader.Sample, out *export.Sample) {
	w, ok := t.windows.find(in.TID, in.Time)
	if !ok {
		return
	}
	out.Step, out.Action = w.seq, w.action.String()
}

// actionStats keeps the durations of the steps of each action type.
type actionStats map[model.ActionType][]uint64

func (a actionStats) add(action model.ActionType, d uint64) { a[action] = append(a[action], d) }

// actionRow is one line of the per-action table.
type actionRow struct {
	action         string
	count          int
	mean, p50, p99 time.Duration
	samples        int
	top            []string // leaf functions by samples, most first
}

// actionRows computes the table from the step durations and the labelled
// samples.
func actionRows(a actionStats, prof *export.Profile, top int) []actionRow {
	samples := map[string]int{}
	leaves := map[string]map[string]int{}
	if prof != nil {
		for i := range prof.Samples {
			s := &prof.Samples[i]
			if s.Action == "" {
				continue
			}
			samples[s.Action]++
			if len(s.Stack) > 0 {
				if leaves[s.Action] == nil {
					leaves[s.Action] = map[string]int{}
				}
				leaves[s.Action][s.Stack[0].Name()]++
			}
		}
	}
	var rows []actionRow
	for _, at := range model.ActionTypes {
		name := at.String()
		ds := a[at]
		if len(ds) == 0 {
			continue
		}
		sorted := append([]uint64(nil), ds...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		var sum float64
		for _, d := range sorted {
			sum += float64(d)
		}
		r := actionRow{
			action:  name,
			count:   len(sorted),
			mean:    time.Duration(sum / float64(len(sorted))),
			p50:     time.Duration(quantile(sorted, 0.50)),
			p99:     time.Duration(quantile(sorted, 0.99)),
			samples: samples[name],
		}
		r.top = topNames(leaves[name], top)
		rows = append(rows, r)
	}
	return rows
}

// quantile returns the q-quantile of sorted values (nearest rank).
func quantile(sorted []uint64, q float64) uint64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// topNames returns the n names with the most counts, ties by name.
func topNames(counts map[string]int, n int) []string {
	names := make([]string, 0, len(counts))
	for k := range counts {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if counts[names[i]] != counts[names[j]] {
			return counts[names[i]] > counts[names[j]]
		}
		return names[i] < names[j]
	})
	if len(names) > n {
		names = names[:n]
	}
	for i, k := range names {
		names[i] = fmt.Sprintf("%s (%d)", k, counts[k])
	}
	return names
}

// writeActionTable prints the per-action table of the terminal summary.
func writeActionTable(w io.Writer, a actionStats, prof *export.Profile) {
	rows := actionRows(a, prof, 3)
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "\nper action (step durations from t0 to t1; samples that fell in a step):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "action\tcount\tmean\tp50\tp99\tsamples\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t\n", r.action, r.count, fmtDur(r.mean), fmtDur(r.p50), fmtDur(r.p99), r.samples)
	}
	tw.Flush()
	for _, r := range rows {
		if len(r.top) > 0 {
			fmt.Fprintf(w, "  top frames in %s: %s\n", r.action, joinComma(r.top))
		}
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", float64(d)/1e3)
	default:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
