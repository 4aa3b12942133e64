package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/tracer-dev/tracer/model"
)

const traces = "../../testdata/traces"

// stack is one sample of a test profile: frames root first, its action
// label ("" for none) and its count.
type stack struct {
	frames []string
	action string
	count  int64
}

// testProfile builds a pprof profile as tracer writes one: samples/count
// and cpu/nanoseconds, frames as functions, python frames marked by their
// system name, the action label on samples inside a step.
func testProfile(t *testing.T, stacks []stack) *profile.Profile {
	t.Helper()
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     1001001,
		Comments:   []string{"lost records: 3", "command: python3 app.py", "interpreter: Python 3.11.7"},
	}
	exe := &profile.Mapping{ID: 1, Start: 0x400000, Limit: 0x800000, File: "/usr/bin/python3", HasFunctions: true}
	p.Mapping = []*profile.Mapping{exe}
	funcs := map[string]*profile.Function{}
	locs := map[string]*profile.Location{}
	for _, s := range stacks {
		ps := &profile.Sample{Value: []int64{s.count, s.count * p.Period}, Label: map[string][]string{}}
		if s.action != "" {
			ps.Label["action"] = []string{s.action}
			ps.NumLabel = map[string][]int64{"step": {7}}
		}
		for i := len(s.frames) - 1; i >= 0; i-- {
			name := s.frames[i]
			l := locs[name]
			if l == nil {
				f := &profile.Function{ID: uint64(len(funcs) + 1), Name: name, SystemName: name}
				if strings.HasPrefix(name, "py.") {
					f.SystemName = "python:" + name
				}
				funcs[name] = f
				p.Function = append(p.Function, f)
				l = &profile.Location{ID: uint64(len(locs) + 1), Line: []profile.Line{{Function: f}}}
				if !strings.HasPrefix(name, "py.") {
					l.Mapping, l.Address = exe, 0x400000+l.ID
				}
				locs[name] = l
				p.Location = append(p.Location, l)
			}
			ps.Location = append(ps.Location, l)
		}
		p.Sample = append(p.Sample, ps)
	}
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	// Round trip, as tracer report reads it.
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "p.pb.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := ReadProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var labelled = []stack{
	{[]string{"py.main", "py.step", "py.transition", "PyDict_SetItem"}, "post", 6},
	{[]string{"py.main", "py.step", "py.transition"}, "comment", 2},
	{[]string{"py.main", "py.generate"}, "", 10},
	{[]string{"py.main", "py.generate", "[unknown]", "[unknown]", "[unknown]", "malloc"}, "", 2},
}

func render(t *testing.T, pg *Page) string {
	t.Helper()
	var b bytes.Buffer
	if err := pg.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestDivergentTraceAndLabelledProfile(t *testing.T) {
	trace := filepath.Join(traces, "bug_post_append.jsonl")
	pg, err := Build(Input{
		Impls: []Impl{{Name: "python", Profile: testProfile(t, labelled), ProfilePath: "python.pb.gz", TracePath: trace}},
		Date:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	if pg.Verdict != "DIVERGENT" || len(pg.Verdicts) != 1 || pg.Verdicts[0].FirstStep != 3 {
		t.Fatalf("verdict %s, rows %+v; want DIVERGENT at step 3", pg.Verdict, pg.Verdicts)
	}
	if got := pg.Verdicts[0]; got.ExactClass != "bad" || got.BisimClass != "ok" {
		t.Errorf("exact %q, bisim %q: want exact failed, bisim held", got.Exact, got.Bisim)
	}
	d := pg.Divergences[0]
	if d.Seq != 3 || d.Action != "post" || d.Where != trace+" line 4" {
		t.Errorf("divergence at step %d (%s) %q; want step 3 (post) at line 4", d.Seq, d.Action, d.Where)
	}
	var differs, same []string
	for _, f := range d.Fields {
		if f.Differs {
			differs = append(differs, f.Name)
		} else if f.Gap == "" {
			same = append(same, f.Name)
		}
	}
	if !slices.Equal(differs, []string{"data[0]", "data[1]"}) || !slices.Equal(same, []string{"agent_id", "shard_id", "len(data)"}) {
		t.Errorf("differing fields %q, equal %q", differs, same)
	}
	if !strings.Contains(d.Other, "under bisim: holds") {
		t.Errorf("other relation: %q", d.Other)
	}
	page := render(t, pg)
	for _, want := range []string{
		`data-verdict="DIVERGENT"`, `data-step="3"`, `<tr class="field differs" data-field="data[0]">`,
		`<tr class="field" data-field="agent_id">`, "Python 3.11.7", "python3 app.py", `<span class="lost">3</span>`,
		"lost: python: the kernel dropped 3 sampler records",
		`<option value="post">only inside post</option>`, `<option value="(outside any step)">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// Per-action rows: durations from the trace, samples from the labels.
	rows := map[string]ActionRow{}
	for _, a := range pg.Actions {
		rows[a.Name] = a.Rows[0]
	}
	if rows["post"].Samples != "6" || rows["comment"].Samples != "2" || rows["register"].Samples != "0" || rows["post"].Count == 0 {
		t.Errorf("per-action rows: %+v", rows)
	}
	for _, a := range pg.Actions {
		if !strings.Contains(string(a.Histogram), "<rect") {
			t.Errorf("%s: histogram without bars: %s", a.Name, a.Histogram)
		}
	}
}

// flameJSON decodes the page's flame data.
type flameJSON struct {
	Impls []struct {
		Name  string                     `json:"name"`
		Names []string                   `json:"names"`
		Kinds []int                      `json:"kinds"`
		Trees map[string]json.RawMessage `json:"trees"`
	} `json:"impls"`
}

// treeNode decodes [name, total, child…].
type treeNode struct {
	name     string
	total    int64
	children []*treeNode
}

func decodeTree(t *testing.T, names []string, raw json.RawMessage) *treeNode {
	t.Helper()
	var arr []json.RawMessage
	if err := json.Unmarshal(raw, &arr); err != nil || len(arr) < 2 {
		t.Fatalf("tree %s: %v", raw, err)
	}
	var name int
	n := &treeNode{}
	if err := json.Unmarshal(arr[0], &name); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(arr[1], &n.total); err != nil {
		t.Fatal(err)
	}
	n.name = names[name]
	var sum int64
	for _, c := range arr[2:] {
		child := decodeTree(t, names, c)
		sum += child.total
		n.children = append(n.children, child)
	}
	if sum > n.total {
		t.Fatalf("%s: children hold %d samples, the frame %d", n.name, sum, n.total)
	}
	return n
}

func (n *treeNode) path(names ...string) *treeNode {
	for _, want := range names {
		var next *treeNode
		for _, c := range n.children {
			if c.name == want {
				next = c
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

func (n *treeNode) count() int {
	c := 1
	for _, k := range n.children {
		c += k.count()
	}
	return c
}

func flameData(t *testing.T, pg *Page) flameJSON {
	t.Helper()
	var f flameJSON
	if err := json.Unmarshal([]byte(pg.Data), &f); err != nil {
		t.Fatalf("flame data: %v", err)
	}
	return f
}

func TestFlameTreesPerAction(t *testing.T) {
	pg, err := Build(Input{Impls: []Impl{{Name: "python", Profile: testProfile(t, labelled)}}})
	if err != nil {
		t.Fatal(err)
	}
	if pg.Verdict != "NOT CHECKED" {
		t.Errorf("a profile alone: verdict %s", pg.Verdict)
	}
	f := flameData(t, pg)
	im := f.Impls[0]
	all := decodeTree(t, im.Names, im.Trees["all"])
	if all.total != 20 || all.path("py.main").total != 20 || all.path("py.main", "py.step", "py.transition").total != 8 {
		t.Errorf("all samples: total %d, main %+v", all.total, all.path("py.main"))
	}
	post := decodeTree(t, im.Names, im.Trees["post"])
	if post.total != 6 || post.path("py.main", "py.step", "py.transition", "PyDict_SetItem") == nil || post.path("py.main", "py.generate") != nil {
		t.Errorf("only inside post: %+v", post)
	}
	outside := decodeTree(t, im.Names, im.Trees[filterOutside])
	if outside.total != 12 {
		t.Errorf("outside any step: %d samples, want 12", outside.total)
	}
	// A run of [unknown] frames is one frame.
	if n := all.path("py.main", "py.generate", "[unknown]", "malloc"); n == nil || n.total != 2 {
		t.Errorf("the run of [unknown] frames was not folded: %+v", all.path("py.main", "py.generate"))
	}
	kind := map[string]int{}
	for i, n := range im.Names {
		kind[n] = im.Kinds[i]
	}
	if kind["py.step"] != kindPython || kind["PyDict_SetItem"] != kindNative {
		t.Errorf("kinds: %v", kind)
	}
}

func TestProfileWithoutLabels(t *testing.T) {
	var plain []stack
	for _, s := range labelled {
		s.action = ""
		plain = append(plain, s)
	}
	pg, err := Build(Input{Impls: []Impl{{Profile: testProfile(t, plain), ProfilePath: "/x/node.pb.gz"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Filters) != 1 || pg.Filters[0].Value != filterAll {
		t.Errorf("selector without labels: %+v; want all samples only", pg.Filters)
	}
	if pg.Impls[0].Name != "node" {
		t.Errorf("name from the file: %q", pg.Impls[0].Name)
	}
	if len(flameData(t, pg).Impls[0].Trees) != 1 {
		t.Error("trees beside all samples without labels")
	}
}

func TestPairOfTraces(t *testing.T) {
	a, b := filepath.Join(traces, "pair_python.jsonl"), filepath.Join(traces, "pair_node_utf16.jsonl")
	pg, err := Build(Input{Impls: []Impl{{TracePath: a}, {TracePath: b}}, Relation: model.Bisim})
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Verdicts) != 3 || pg.Verdicts[2].Name != "pair_python ~ pair_node_utf16 (the pair)" {
		t.Fatalf("rows: %+v", pg.Verdicts)
	}
	// Under bisim the pair holds (same lengths); exact fails at step 4.
	pair := pg.Verdicts[2]
	if pg.Verdict != "CONFORMING" || pair.BisimClass != "ok" || pair.ExactClass != "bad" || !strings.Contains(pair.Exact, "first at step 4") {
		t.Errorf("verdict %s, pair %+v", pg.Verdict, pair)
	}
	pg, err = Build(Input{Impls: []Impl{{TracePath: a}, {TracePath: b}}})
	if err != nil {
		t.Fatal(err)
	}
	d := pg.Divergences[len(pg.Divergences)-1]
	if pg.Verdict != "DIVERGENT" || d.Seq != 4 || d.ExpectedLabel != "first: pair_python.jsonl" || !d.Fields[3].Differs || d.Fields[3].Name != "data[0]" {
		t.Errorf("verdict %s, pair divergence %+v", pg.Verdict, d)
	}
	if pg.HasFlame || !strings.Contains(render(t, pg), "No profile was given.") {
		t.Error("traces alone drew a flame graph")
	}
}

func TestLongDataFolded(t *testing.T) {
	exp := model.State{AgentID: "a"}
	for i := 0; i < 1000; i++ {
		exp.Data = append(exp.Data, model.NatOf(uint64(i)))
	}
	obs := exp
	obs.Data = slices.Clone(exp.Data)
	obs.Data[500] = model.NatOf(7)
	rows := stateRows(exp, obs)
	var names, gaps []string
	for _, r := range rows {
		if r.Gap != "" {
			gaps = append(gaps, r.Gap)
			continue
		}
		names = append(names, r.Name)
		if r.Differs != (r.Name == "data[500]") {
			t.Errorf("%s differs: %v", r.Name, r.Differs)
		}
	}
	if len(rows) > 30 || !slices.Contains(names, "data[500]") || !slices.Contains(names, "data[999]") || len(gaps) != 2 || gaps[0] != "… 494 equal items …" {
		t.Errorf("%d rows: %q, gaps %q", len(rows), names, gaps)
	}
	// Every item differs: the rows stop at maxItemRows.
	for i := range obs.Data {
		obs.Data[i] = model.NatOf(5000)
	}
	rows = stateRows(exp, obs)
	if len(rows) > maxItemRows+5 || !strings.Contains(rows[len(rows)-1].Gap, "more items") {
		t.Errorf("%d rows, last %+v", len(rows), rows[len(rows)-1])
	}
}

func TestPruneKeepsTotals(t *testing.T) {
	var many []stack
	for i := 0; i < 3*maxNodes; i++ {
		many = append(many, stack{[]string{"main", fmt.Sprintf("f%d", i%50), fmt.Sprintf("leaf%d", i)}, "", int64(1 + i%3)})
	}
	pg, err := Build(Input{Impls: []Impl{{Profile: testProfile(t, many)}}})
	if err != nil {
		t.Fatal(err)
	}
	im := flameData(t, pg).Impls[0]
	all := decodeTree(t, im.Names, im.Trees["all"])
	var want int64
	for _, s := range many {
		want += s.count
	}
	if n := all.count(); n > maxNodes+60 || all.total != want || all.path("main").total != want {
		t.Errorf("%d nodes, total %d; want at most about %d nodes and %d samples", n, all.total, maxNodes, want)
	}
	small := 0
	for _, f := range all.path("main").children {
		if s := f.path("(small frames)"); s != nil {
			small++
		}
	}
	if small == 0 {
		t.Error("no (small frames) node holds the pruned samples")
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.jsonl")
	notProfile := filepath.Join(dir, "x.pb.gz")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(notProfile, []byte("hello"), 0o644)
	for name, in := range map[string]Input{
		"nothing":   {},
		"three":     {Impls: []Impl{{TracePath: empty}, {TracePath: empty}, {TracePath: empty}}},
		"neither":   {Impls: []Impl{{Name: "x"}}},
		"empty":     {Impls: []Impl{{TracePath: empty}}},
		"malformed": {Impls: []Impl{{TracePath: filepath.Join(traces, "malformed_garbage.jsonl")}}},
		"missing":   {Impls: []Impl{{TracePath: filepath.Join(dir, "nope.jsonl")}}},
		"directory": {Impls: []Impl{{TracePath: dir}}},
		"pair":      {Impls: []Impl{{TracePath: filepath.Join(traces, "valid.jsonl")}, {TracePath: filepath.Join(traces, "malformed_seq_zero.jsonl")}}},
	} {
		if _, err := Build(in); !errors.Is(err, ErrInput) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v; want one line of ErrInput", name, err)
		}
	}
	for _, p := range []string{notProfile, dir, filepath.Join(dir, "nope.pb.gz")} {
		if _, err := ReadProfile(p); !errors.Is(err, ErrInput) {
			t.Errorf("ReadProfile(%s): %v", p, err)
		}
	}
}

// The page stays small however many steps: a 50 000-step trace and a
// profile of many distinct stacks.
func TestPageSizeBounded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.jsonl")
	var b []byte
	st := model.State{AgentID: "a"}
	b = model.AppendRecord(b, model.Record{Kind: model.KindInit, State: st})
	b = append(b, '\n')
	for i := 1; i <= 50000; i++ {
		a := model.Action{Type: model.Post, Author: "x", Content: "héllo"}
		if i%3 == 0 {
			a = model.Action{Type: model.Comment, Author: "y", Content: "z"}
		}
		st = model.Transition(st, a)
		if len(st.Data) > 20 {
			a = model.Action{Type: model.Distribute, Items: []model.Nat{model.NatOf(1)}}
			st = model.Transition(st, a)
		}
		b = model.AppendRecord(b, model.Record{Kind: model.KindStep, Seq: uint64(i), T0: uint64(i) * 1000, T1: uint64(i)*1000 + uint64(100+i%900), Action: a, State: st})
		b = append(b, '\n')
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var stacks []stack
	for i := 0; i < 20000; i++ {
		stacks = append(stacks, stack{[]string{"main", fmt.Sprintf("g%d", i%97), fmt.Sprintf("h%d", i%1013), fmt.Sprintf("leaf%d", i)}, []string{"post", "comment", "distribute", ""}[i%4], 1})
	}
	prof := testProfile(t, stacks)
	pg, err := Build(Input{Impls: []Impl{{Name: "python", Profile: prof, TracePath: path}, {Name: "node", Profile: prof, TracePath: path}}})
	if err != nil {
		t.Fatal(err)
	}
	if pg.Verdict != "CONFORMING" {
		t.Fatalf("verdict %s: %+v", pg.Verdict, pg.Divergences)
	}
	size := len(render(t, pg))
	t.Logf("page: %d bytes", size)
	if size > 3<<20 {
		t.Errorf("page of %d bytes; want well under 5 MiB", size)
	}
}

// Names from the traced program are text on the page, never markup.
func TestNamesAreInert(t *testing.T) {
	evil := "</script><script>alert(1)</script>"
	pg, err := Build(Input{
		Impls:   []Impl{{Name: "<b>x</b>", Profile: testProfile(t, []stack{{[]string{"main", evil}, "", 1}}), Command: []string{evil}}},
		Command: evil,
	})
	if err != nil {
		t.Fatal(err)
	}
	page := render(t, pg)
	if strings.Contains(page, evil) || strings.Contains(page, "<b>x</b>") {
		t.Error("a frame, command or name is markup on the page")
	}
	if !strings.Contains(page, `\u003c/script\u003e\u003cscript\u003ealert(1)`) {
		t.Error("the frame name is not in the flame data")
	}
}

// Two traces with no step in common: each is judged, the pair is not, and
// the page says why.
func TestPairWithoutCommonSteps(t *testing.T) {
	dir := t.TempDir()
	late := filepath.Join(dir, "late.jsonl")
	var b []byte
	st := model.State{AgentID: "a"}
	for i := uint64(100); i < 103; i++ {
		b = model.AppendRecord(b, model.Record{Kind: model.KindStep, Seq: i, T0: i, T1: i + 1, Action: model.Action{Type: model.Comment, Author: "x", Content: "y"}, State: st})
		b = append(b, '\n')
	}
	if err := os.WriteFile(late, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// valid.jsonl has steps 1–12 and an init record; late.jsonl neither.
	pg, err := Build(Input{Impls: []Impl{{TracePath: filepath.Join(traces, "valid.jsonl")}, {TracePath: late}}})
	if err != nil {
		t.Fatal(err)
	}
	if pg.Verdict != "INCOMPLETE" || len(pg.Verdicts) != 2 || len(pg.Problems) != 1 || !strings.Contains(pg.Problems[0], "no seq in common") {
		t.Errorf("verdict %s, rows %d, problems %q", pg.Verdict, len(pg.Verdicts), pg.Problems)
	}
}
