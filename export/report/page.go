package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/tracer-dev/tracer/model"
)

var (
	//go:embed page.html
	pageHTML string
	//go:embed page.css
	pageCSS string
	//go:embed page.js
	pageJS string

	pageTemplate = template.Must(template.New("page").Parse(pageHTML))
)

// Page is one report, ready to render.
type Page struct {
	Title, Command, Date, Relation string
	Verdict                        string // CONFORMING, DIVERGENT, INCOMPLETE, NOT CHECKED
	VerdictNote                    string
	Problems                       []string
	Losses                         []string // what a run lost: samples, batches, steps
	Verdicts                       []VerdictRow
	Divergences                    []*DivergenceView
	Impls                          []ImplView
	Actions                        []ActionView
	Shares                         []ShareRow // per action shares of two profiles
	ShareNames                     [2]string
	Filters                        []FilterOption
	HasFlame                       bool
	Style                          template.HTML
	Script                         template.HTML
	Data                           template.JS // the flame trees, JSON

	pair *model.Result
}

// VerdictRow is one line of the verdict table.
type VerdictRow struct {
	Name                  string
	Verdict, VerdictClass string
	Exact, ExactClass     string
	Bisim, BisimClass     string
	Steps                 string
	Note                  string
	FirstStep             uint64
}

// ImplView is how one implementation's run went.
type ImplView struct {
	Name, Command, Interpreter string
	ProfilePath, TracePath     string
	Samples, Lost, Duration    string
	Capture                    string
	CaptureLost                bool
	NotObserved                string
	Comments                   []string
}

// ActionView is one action's row per implementation and its histogram.
type ActionView struct {
	Name      string
	Rows      []ActionRow
	Histogram template.HTML
}

// ActionRow is one action of one implementation.
type ActionRow struct {
	Impl           string
	Count          int
	Mean, P50, P99 string
	Samples        string
}

// ShareRow compares one action's share of all samples in two profiles.
type ShareRow struct {
	Action         string
	CountA, CountB int64
	A, B, Delta    string
}

// FilterOption is one choice of the flame graph's selector.
type FilterOption struct{ Value, Label string }

func (p *Page) fill(runs []*implRun) {
	p.Style = template.HTML("<style>\n" + pageCSS + "</style>")
	p.Script = template.HTML("<script>\n" + pageJS + "</script>")
	divergent, checked := false, false
	for _, r := range runs {
		if r.check == nil {
			p.Verdicts = append(p.Verdicts, VerdictRow{Name: r.Name + " against the model", Verdict: "not checked", VerdictClass: "none", Note: "no trace: give one to check it"})
			continue
		}
		checked = true
		row := verdictRow(r.Name+" against the model", r.check)
		divergent = divergent || r.check.Divergent()
		p.noteIncomplete(r.Name+" against the model", r.check)
		p.Verdicts = append(p.Verdicts, row)
		if dv := divergenceView(r.Name+" against the model", r.check); dv != nil {
			p.Divergences = append(p.Divergences, dv)
		}
	}
	if p.pair != nil {
		name := runs[0].Name + " ~ " + runs[1].Name
		p.Verdicts = append(p.Verdicts, verdictRow(name+" (the pair)", p.pair))
		divergent = divergent || p.pair.Divergent()
		p.noteIncomplete(name+" (the pair)", p.pair)
		if dv := divergenceView(name, p.pair); dv != nil {
			p.Divergences = append(p.Divergences, dv)
		}
	}
	switch {
	case divergent:
		p.Verdict = "DIVERGENT"
	case len(p.Problems) > 0:
		p.Verdict = "INCOMPLETE"
	case !checked:
		p.Verdict = "NOT CHECKED"
		p.VerdictNote = "no trace was given: the profile alone says nothing about conformance"
	default:
		p.Verdict = "CONFORMING"
	}
	for _, r := range runs {
		p.Impls = append(p.Impls, implView(r))
		p.Losses = append(p.Losses, losses(r)...)
	}
	p.Actions = actionViews(runs)
	p.fillFlame(runs)
}

// noteIncomplete adds a problem when r could not check every step, so the
// page's verdict is INCOMPLETE, as tracer check's would be.
func (p *Page) noteIncomplete(name string, r *model.Result) {
	if r.Verdict() == model.Incomplete {
		p.Problems = append(p.Problems, name+": not every step could be checked (see its row)")
	}
}

func verdictRow(name string, r *model.Result) VerdictRow {
	row := VerdictRow{Name: name, Verdict: "conforming", VerdictClass: "ok"}
	switch r.Verdict() {
	case model.Divergent:
		row.Verdict, row.VerdictClass = "DIVERGENT", "bad"
		if r.First != nil {
			row.FirstStep = r.First.Seq
		} else if r.FirstInvalid != nil {
			row.Note = "invalid record: " + r.FirstInvalid.String()
		}
	case model.Incomplete:
		row.Verdict, row.VerdictClass = "INCOMPLETE", "warn"
	}
	row.Exact, row.ExactClass = relationCell(r, model.Exact, r.ExactFailed, r.FirstExactFail)
	row.Bisim, row.BisimClass = relationCell(r, model.Bisim, r.BisimFailed, r.FirstBisimFail)
	if r.Pair {
		row.Steps = fmt.Sprintf("%d in both traces", r.Steps)
		if r.OnlyFirst+r.OnlySecond > 0 {
			row.Note = fmt.Sprintf("%d steps only in the first trace, %d only in the second (not compared)", r.OnlyFirst, r.OnlySecond)
		}
		if r.ActionMismatches > 0 {
			row.Note = strings.TrimPrefix(row.Note+fmt.Sprintf("; actions differ at %d steps", r.ActionMismatches), "; ")
		}
	} else {
		row.Steps = fmt.Sprintf("%d, %d checked", r.Steps, r.Checked)
		if !r.FromInit && r.Steps > 0 {
			row.Note = fmt.Sprintf("no init record: checked stepwise from the state observed at step %d", r.FirstSeq)
		}
		if r.NotObserved > 0 {
			row.Note = strings.TrimPrefix(row.Note+fmt.Sprintf("; %d steps not observed (records lost)", r.NotObserved), "; ")
		}
	}
	return row
}

func relationCell(r *model.Result, rel model.Relation, failed, first uint64) (string, string) {
	switch {
	case r.Checked == 0 && !r.InitCompared:
		return "nothing to check", "none"
	case failed > 0 && first == 0:
		return fmt.Sprintf("failed at %d steps, first at the init records", failed), "bad"
	case failed > 0:
		return fmt.Sprintf("failed at %d %s, first at step %d", failed, plural(int(min(failed, 2)), "step", "steps"), first), "bad"
	case rel == model.Exact && r.Unchecked > 0:
		return "held wherever it could be checked", "ok"
	}
	return "held at every step", "ok"
}

func implView(r *implRun) ImplView {
	v := ImplView{
		Name:        r.Name,
		Command:     strings.Join(r.Command, " "),
		Interpreter: r.Interpreter,
		ProfilePath: r.ProfilePath,
		TracePath:   r.traceLabel(),
		Capture:     r.Capture,
		CaptureLost: r.CaptureLost,
	}
	if d := r.prof; d != nil {
		v.Samples = fmt.Sprint(d.total)
		v.Lost = fmt.Sprint(d.lost)
		if d.duration > 0 {
			v.Duration = fmt.Sprintf("%.2f s", time.Duration(d.duration).Seconds())
		}
		for _, c := range d.comments {
			known := false
			for _, prefix := range []string{"lost records: ", commentCommand, commentInterpreter, commentCapture} {
				known = known || strings.HasPrefix(c, prefix)
			}
			if !known {
				v.Comments = append(v.Comments, c)
			}
		}
	}
	if c := r.check; c != nil {
		v.NotObserved = fmt.Sprint(c.NotObserved)
	}
	return v
}

func actionViews(runs []*implRun) []ActionView {
	var out []ActionView
	for _, at := range model.ActionTypes {
		name := at.String()
		av := ActionView{Name: name}
		var series []histSeries
		for _, r := range runs {
			ds := r.durations[at]
			var samples int64
			labelled := false
			if r.prof != nil {
				samples, labelled = r.prof.byAction[name], r.prof.labelled
			}
			if len(ds) == 0 && samples == 0 {
				continue
			}
			l := summarize(ds)
			row := ActionRow{Impl: r.Name, Count: l.count, Mean: "—", P50: "—", P99: "—", Samples: "—"}
			if l.count > 0 {
				row.Mean, row.P50, row.P99 = fmtDur(l.mean), fmtDur(l.p50), fmtDur(l.p99)
			}
			if labelled {
				row.Samples = fmt.Sprint(samples)
			}
			av.Rows = append(av.Rows, row)
			series = append(series, histSeries{name: r.Name, durations: ds})
		}
		if len(av.Rows) == 0 {
			continue
		}
		av.Histogram = histogramSVG(name, series)
		out = append(out, av)
	}
	return out
}

func (p *Page) fillFlame(runs []*implRun) {
	var withProf []*implRun
	for _, r := range runs {
		if r.prof != nil {
			withProf = append(withProf, r)
		}
	}
	if len(withProf) == 0 {
		return
	}
	p.HasFlame = true
	// The selector: all samples, each action some profile has, outside.
	have := map[string]bool{}
	outside := false
	for _, r := range withProf {
		for k := range r.prof.trees {
			if k == filterOutside {
				outside = true
			} else if k != filterAll {
				have[k] = true
			}
		}
	}
	p.Filters = append(p.Filters, FilterOption{filterAll, "all samples"})
	var names []string
	for _, at := range model.ActionTypes {
		if have[at.String()] {
			names = append(names, at.String())
			delete(have, at.String())
		}
	}
	extra := make([]string, 0, len(have))
	for k := range have {
		extra = append(extra, k)
	}
	sort.Strings(extra)
	names = append(names, extra...)
	for _, n := range names {
		p.Filters = append(p.Filters, FilterOption{n, "only inside " + n})
	}
	if outside {
		p.Filters = append(p.Filters, FilterOption{filterOutside, "only outside any step"})
	}

	var b []byte
	b = append(b, `{"impls":[`...)
	for i, r := range withProf {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSON(b, r.Name)
		b = append(b, `,"names":`...)
		b = appendJSON(b, r.prof.names)
		b = append(b, `,"kinds":`...)
		b = appendJSON(b, r.prof.kinds)
		b = append(b, `,"trees":{`...)
		first := true
		for _, f := range p.Filters {
			t := r.prof.trees[f.Value]
			if t == nil {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSON(b, f.Value)
			b = append(b, ':')
			b = appendTree(b, t)
		}
		b = append(b, "}}"...)
	}
	b = append(b, "]}"...)
	p.Data = template.JS(b)

	if len(withProf) == 2 && (withProf[0].prof.labelled || withProf[1].prof.labelled) {
		a, bp := withProf[0].prof, withProf[1].prof
		p.ShareNames = [2]string{withProf[0].Name, withProf[1].Name}
		for _, n := range append(names, filterOutside) {
			ca, cb := a.byAction[n], bp.byAction[n]
			if n == filterOutside {
				ca, cb = a.outside, bp.outside
			}
			sa, sb := share(ca, a.total), share(cb, bp.total)
			p.Shares = append(p.Shares, ShareRow{
				Action: n, CountA: ca, CountB: cb,
				A: pct(sa), B: pct(sb), Delta: fmt.Sprintf("%+.1f%%", 100*(sb-sa)),
			})
		}
	}
}

// appendJSON appends v as JSON; encoding/json escapes <, > and &, so the
// result is safe inside a script element.
func appendJSON(b []byte, v any) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, j...)
}

func share(n, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func fmtDur(ns uint64) string {
	d := float64(ns)
	switch {
	case ns < 1000:
		return fmt.Sprintf("%dns", ns)
	case d < 1e6:
		return fmt.Sprintf("%.1fµs", d/1e3)
	case d < 1e9:
		return fmt.Sprintf("%.2fms", d/1e6)
	}
	return fmt.Sprintf("%.2fs", d/1e9)
}

// histSeries is one implementation's durations of one action, sorted.
type histSeries struct {
	name      string
	durations []uint64
}

// Histogram geometry.
const (
	histBins   = 24
	histWidth  = 420
	histHeight = 110
	histPlot   = 80 // the bars' height; the rest holds the axis labels
)

// histogramSVG draws the durations of every series on one logarithmic
// axis, the series' bars side by side in each bin.
func histogramSVG(action string, series []histSeries) template.HTML {
	lo, hi := uint64(math.MaxUint64), uint64(0)
	for _, s := range series {
		if len(s.durations) == 0 {
			continue
		}
		lo = min(lo, max(1, s.durations[0]))
		hi = max(hi, s.durations[len(s.durations)-1])
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="hist" data-action="%s" width="%d" height="%d" viewBox="0 0 %d %d" role="img">`,
		template.HTMLEscapeString(action), histWidth, histHeight, histWidth, histHeight)
	if hi == 0 {
		b.WriteString(`<text x="4" y="40" class="axis">no step durations in the trace</text></svg>`)
		return template.HTML(b.String())
	}
	// The axis ends at the largest p99.9: the slowest steps, often a
	// thousand times slower than the rest, share the last bin instead of
	// squeezing every other bar into a corner.
	overflow := false
	if q := axisEnd(series); q > 0 && q < hi {
		hi, overflow = q, true
	}
	hi = max(hi, lo)
	llo, lhi := math.Log(float64(lo)), math.Log(float64(hi)+1)
	bin := func(d uint64) int {
		if lhi <= llo {
			return 0
		}
		i := int(float64(histBins) * (math.Log(float64(max(d, 1))) - llo) / (lhi - llo))
		return max(0, min(i, histBins-1))
	}
	edge := func(i int) uint64 { return uint64(math.Exp(llo + float64(i)*(lhi-llo)/histBins)) }
	counts := make([][]int, len(series))
	top := 1
	for k, s := range series {
		counts[k] = make([]int, histBins)
		for _, d := range s.durations {
			counts[k][bin(d)]++
		}
		for _, c := range counts[k] {
			top = max(top, c)
		}
	}
	bw := float64(histWidth) / histBins
	for i := 0; i < histBins; i++ {
		for k := range series {
			c := counts[k][i]
			if c == 0 {
				continue
			}
			h := math.Max(1, float64(histPlot)*float64(c)/float64(top))
			w := bw / float64(len(series))
			x := float64(i)*bw + float64(k)*w
			upto := "to " + fmtDur(edge(i+1))
			if overflow && i == histBins-1 {
				upto = "up"
			}
			fmt.Fprintf(&b, `<rect class="s%d" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s: %d steps from %s %s</title></rect>`,
				k, x+0.5, float64(histPlot)-h, math.Max(w-1, 1), h,
				template.HTMLEscapeString(series[k].name), template.HTMLEscapeString(action), c, fmtDur(edge(i)), upto)
		}
	}
	// p50 and p99 of each series: dashed lines, the value on hover.
	for k, s := range series {
		if len(s.durations) == 0 {
			continue
		}
		for _, q := range []struct {
			name string
			v    uint64
		}{{"p50", quantile(s.durations, 0.50)}, {"p99", quantile(s.durations, 0.99)}} {
			x := 0.0
			if lhi > llo {
				x = float64(histWidth) * (math.Log(float64(max(q.v, 1))) - llo) / (lhi - llo)
			}
			fmt.Fprintf(&b, `<line class="q s%d" x1="%.1f" y1="0" x2="%.1f" y2="%d"><title>%s %s %s: %s</title></line>`,
				k, x, x, histPlot, template.HTMLEscapeString(s.name), template.HTMLEscapeString(action), q.name, fmtDur(q.v))
			fmt.Fprintf(&b, `<text class="qt s%d" x="%.1f" y="%d">%s</text>`, k, x+2, 9+10*k, q.name)
		}
	}
	fmt.Fprintf(&b, `<line x1="0" y1="%d" x2="%d" y2="%d" class="base"/>`, histPlot, histWidth, histPlot)
	fmt.Fprintf(&b, `<text x="0" y="%d" class="axis">%s</text>`, histPlot+14, fmtDur(lo))
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="axis" text-anchor="middle">%s</text>`, histWidth/2, histPlot+14, fmtDur(edge(histBins/2)))
	more := ""
	if overflow {
		more = " and slower"
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="axis" text-anchor="end">%s%s</text>`, histWidth, histPlot+14, fmtDur(hi), more)
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="axis" text-anchor="middle">step duration (log scale); bars: steps; dashed: p50, p99</text>`, histWidth/2, histPlot+28)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// axisEnd is the largest p99.9 of the series.
func axisEnd(series []histSeries) uint64 {
	var end uint64
	for _, s := range series {
		if len(s.durations) > 0 {
			end = max(end, quantile(s.durations, 0.999))
		}
	}
	return end
}

// losses says what one run lost, for the verdict section: the details are
// in the run section.
func losses(r *implRun) []string {
	var out []string
	if r.prof != nil && r.prof.lost > 0 {
		out = append(out, fmt.Sprintf("%s: the kernel dropped %d sampler records", r.Name, r.prof.lost))
	}
	if r.CaptureLost {
		out = append(out, fmt.Sprintf("%s: the capture lost or rejected batches (see the run below)", r.Name))
	}
	if r.check != nil && r.check.NotObserved > 0 {
		out = append(out, fmt.Sprintf("%s: %d steps missing from the trace, checking resumed after each gap", r.Name, r.check.NotObserved))
	}
	return out
}
