package export

import (
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/google/pprof/profile"
)

// DiffRow compares one key (a function, or an action) between two profiles.
// Shares are fractions of each profile's total samples.
type DiffRow struct {
	Name           string
	FlatA, FlatB   float64 // self share: samples whose leaf is this function
	CumA, CumB     float64 // cumulative share: samples with this function anywhere on the stack
	CountA, CountB int64   // self samples, or samples labelled with this action
}

// Delta is the change of the self share from A to B.
func (r DiffRow) Delta() float64 { return r.FlatB - r.FlatA }

// Diff is what `tracer diff` prints: functions side by side and, when both
// profiles carry `action` labels, per-action totals.
type Diff struct {
	NameA, NameB   string
	TotalA, TotalB int64
	Functions      []DiffRow // sorted by |Delta|, largest first
	Actions        []DiffRow // sorted by name; empty when neither profile has action labels
}

// ReadProfile parses a pprof file (gzipped or not).
func ReadProfile(path string) (*profile.Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open profile: %w", err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: not a pprof profile: %w", path, err)
	}
	return p, nil
}

// sampleIndex is the index of the value counted in samples: the "samples"
// sample type when the profile has one, else the first value.
func sampleIndex(p *profile.Profile) int {
	for i, st := range p.SampleType {
		if st.Type == "samples" {
			return i
		}
	}
	return 0
}

// frameName is the name a location's leaf-most line is shown under.
func frameNames(loc *profile.Location) []string {
	if len(loc.Line) == 0 {
		return []string{fmt.Sprintf("0x%x", loc.Address)}
	}
	names := make([]string, 0, len(loc.Line))
	for _, l := range loc.Line {
		if l.Function != nil && l.Function.Name != "" {
			names = append(names, l.Function.Name)
		} else {
			names = append(names, fmt.Sprintf("0x%x", loc.Address))
		}
	}
	return names
}

type tally struct {
	total  int64
	flat   map[string]int64
	cum    map[string]int64
	action map[string]int64
}

func tallyProfile(p *profile.Profile) tally {
	t := tally{flat: map[string]int64{}, cum: map[string]int64{}, action: map[string]int64{}}
	vi := sampleIndex(p)
	for _, s := range p.Sample {
		if vi >= len(s.Value) {
			continue
		}
		v := s.Value[vi]
		t.total += v
		seen := map[string]bool{}
		for i, loc := range s.Location {
			names := frameNames(loc)
			if i == 0 {
				// Line[0] is the innermost (inlined) function of the leaf location.
				t.flat[names[0]] += v
			}
			for _, n := range names {
				if !seen[n] {
					seen[n] = true
					t.cum[n] += v
				}
			}
		}
		if a, ok := s.Label["action"]; ok && len(a) > 0 {
			t.action[a[0]] += v
		}
	}
	return t
}

func share(n, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}

// keys is the set of keys of a and b.
func keys(a, b map[string]int64) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for n := range a {
		out[n] = true
	}
	for n := range b {
		out[n] = true
	}
	return out
}

// CompareProfiles builds the function and action comparison of two profiles.
func CompareProfiles(nameA string, a *profile.Profile, nameB string, b *profile.Profile) Diff {
	ta, tb := tallyProfile(a), tallyProfile(b)
	d := Diff{NameA: nameA, NameB: nameB, TotalA: ta.total, TotalB: tb.total}

	for n := range keys(ta.cum, tb.cum) {
		d.Functions = append(d.Functions, DiffRow{
			Name:  n,
			FlatA: share(ta.flat[n], ta.total), FlatB: share(tb.flat[n], tb.total),
			CumA: share(ta.cum[n], ta.total), CumB: share(tb.cum[n], tb.total),
			CountA: ta.flat[n], CountB: tb.flat[n],
		})
	}
	sort.Slice(d.Functions, func(i, j int) bool {
		x, y := d.Functions[i], d.Functions[j]
		dx, dy := math.Abs(x.Delta()), math.Abs(y.Delta())
		if math.Abs(dx-dy) > 1e-9 {
			return dx > dy
		}
		if x.CumA+x.CumB != y.CumA+y.CumB {
			return x.CumA+x.CumB > y.CumA+y.CumB
		}
		return x.Name < y.Name
	})

	for n := range keys(ta.action, tb.action) {
		d.Actions = append(d.Actions, DiffRow{
			Name:  n,
			FlatA: share(ta.action[n], ta.total), FlatB: share(tb.action[n], tb.total),
			CountA: ta.action[n], CountB: tb.action[n],
		})
	}
	sort.Slice(d.Actions, func(i, j int) bool { return d.Actions[i].Name < d.Actions[j].Name })
	return d
}

// WriteText prints the comparison as two tables, at most top function rows
// (0 means all).
func (d Diff) WriteText(w io.Writer, top int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "A: %s (%d samples)\nB: %s (%d samples)\n\n", d.NameA, d.TotalA, d.NameB, d.TotalB)
	rows := d.Functions
	if top > 0 && len(rows) > top {
		rows = rows[:top]
	}
	fmt.Fprintf(&b, "%8s %8s %8s %8s %8s  %s\n", "self A", "self B", "delta", "cum A", "cum B", "function")
	for _, r := range rows {
		fmt.Fprintf(&b, "%7.2f%% %7.2f%% %+7.2f%% %7.2f%% %7.2f%%  %s\n",
			100*r.FlatA, 100*r.FlatB, 100*r.Delta(), 100*r.CumA, 100*r.CumB, r.Name)
	}
	if len(d.Functions) > len(rows) {
		fmt.Fprintf(&b, "(%d more functions; --top 0 shows all)\n", len(d.Functions)-len(rows))
	}
	if len(d.Actions) > 0 {
		fmt.Fprintf(&b, "\nper action (share of all samples):\n")
		fmt.Fprintf(&b, "%-12s %10s %8s %10s %8s %8s\n", "action", "samples A", "share A", "samples B", "share B", "delta")
		for _, r := range d.Actions {
			fmt.Fprintf(&b, "%-12s %10d %7.2f%% %10d %7.2f%% %+7.2f%%\n",
				r.Name, r.CountA, 100*r.FlatA, r.CountB, 100*r.FlatB, 100*r.Delta())
		}
	} else {
		fmt.Fprintf(&b, "\n(no action labels in either profile: per-action totals need profiles from `tracer run` of a probed program)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// foldedStacks maps each stack, root first and ';'-joined, to its sample count.
func foldedStacks(p *profile.Profile) map[string]int64 {
	out := map[string]int64{}
	vi := sampleIndex(p)
	for _, s := range p.Sample {
		if vi >= len(s.Value) {
			continue
		}
		var frames []string
		for i := len(s.Location) - 1; i >= 0; i-- {
			names := frameNames(s.Location[i])
			for j := len(names) - 1; j >= 0; j-- {
				frames = append(frames, strings.ReplaceAll(names[j], ";", ":"))
			}
		}
		out[strings.Join(frames, ";")] += s.Value[vi]
	}
	return out
}

// WriteDiffFolded writes the two-column folded format read by difffolded-style
// flame graph tools: "stack countA countB" per line, sorted by stack.
func WriteDiffFolded(w io.Writer, a, b *profile.Profile) error {
	fa, fb := foldedStacks(a), foldedStacks(b)
	keys := make([]string, 0, len(fa)+len(fb))
	for k := range fa {
		keys = append(keys, k)
	}
	for k := range fb {
		if _, ok := fa[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "%s %d %d\n", k, fa[k], fb[k])
	}
	_, err := io.WriteString(w, sb.String())
	return err
}
