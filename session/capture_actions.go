package session

import (
	"fmt"
	"io"
	"math/bits"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/model"
)

// Step durations are counted in a fixed log-linear histogram: exact below
// histExact ns, then histSub buckets per power of two. A bucket is reported
// by its middle, which is within 1/(2·histSub) = 0.8 % of any duration in
// it. The histogram takes 30 KiB per action type however many steps.
const (
	histSub     = 64
	histExact   = 2 * histSub
	histBuckets = histExact + (64-7)*histSub // shifts 1..57 for 64-bit values
)

// histIndex returns the bucket of v.
func histIndex(v uint64) int {
	if v < histExact {
		return int(v)
	}
	shift := bits.Len64(v) - 7 // v>>shift is in [histSub, 2·histSub)
	return histExact + (shift-1)*histSub + int(v>>shift) - histSub
}

// histMiddle returns the middle of bucket i.
func histMiddle(i int) uint64 {
	if i < histExact {
		return uint64(i)
	}
	k := i - histExact
	shift := uint(k/histSub + 1)
	lo := uint64(k%histSub+histSub) << shift
	return lo + (uint64(1)<<shift)/2
}

// durations summarizes the step durations of one action type: exact count,
// mean, min and max; quantiles from the histogram.
type durations struct {
	count    uint64
	sum      float64
	min, max uint64
	buckets  []uint64 // histBuckets counts, allocated at the first duration
}

func (d *durations) add(v uint64) {
	if d.buckets == nil {
		d.buckets = make([]uint64, histBuckets)
		d.min = v
	}
	d.count++
	d.sum += float64(v)
	d.min, d.max = min(d.min, v), max(d.max, v)
	d.buckets[histIndex(v)]++
}

func (d *durations) mean() uint64 {
	if d.count == 0 {
		return 0
	}
	return uint64(d.sum / float64(d.count))
}

// quantile returns the q-quantile (nearest rank): the smallest and largest
// ranks are the exact min and max, the others the middle of their bucket
// (within [min, max]).
func (d *durations) quantile(q float64) uint64 {
	if d.count == 0 {
		return 0
	}
	rank := uint64(max(1, min(int64(q*float64(d.count)+0.999999), int64(d.count))))
	switch rank {
	case 1:
		return d.min
	case d.count:
		return d.max
	}
	var seen uint64
	for i, n := range d.buckets {
		seen += n
		if seen >= rank {
			return min(max(histMiddle(i), d.min), d.max)
		}
	}
	return d.max
}

// actionStats keeps the step durations of each action type.
type actionStats map[model.ActionType]*durations

func (a actionStats) add(action model.ActionType, d uint64) {
	s := a[action]
	if s == nil {
		s = &durations{}
		a[action] = s
	}
	s.add(d)
}

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
			samples[s.Action] += s.Weight()
			if len(s.Stack) > 0 {
				if leaves[s.Action] == nil {
					leaves[s.Action] = map[string]int{}
				}
				leaves[s.Action][s.Stack[0].Name()] += s.Weight()
			}
		}
	}
	var rows []actionRow
	for _, at := range model.ActionTypes {
		name := at.String()
		d := a[at]
		if d == nil || d.count == 0 {
			continue
		}
		rows = append(rows, actionRow{
			action:  name,
			count:   int(d.count),
			mean:    time.Duration(d.mean()),
			p50:     time.Duration(d.quantile(0.50)),
			p99:     time.Duration(d.quantile(0.99)),
			samples: samples[name],
			top:     topNames(leaves[name], top),
		})
	}
	return rows
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
			fmt.Fprintf(w, "  top frames in %s: %s\n", r.action, strings.Join(r.top, ", "))
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
