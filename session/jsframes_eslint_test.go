package session

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/tracer-dev/tracer/internal/testbin"
)

// eslintDir is where .ci/run installs eslint from npm for this test.
func eslintDir() string { return filepath.Join(filepath.Dir(testbin.NodeCache()), "eslint") }

// jsKey names a function as both profiles can: its name and its file's
// base name (eslint has many functions of the same name).
func jsKey(name, file string) string {
	if name == "" {
		name = "(anonymous)"
	}
	return name + " " + filepath.Base(strings.TrimPrefix(file, "file://"))
}

// jsProfile is the share of samples of each JS function of a script (each
// sample given to its leaf-most one) and, per function, its samples by line.
type jsProfile struct {
	share  map[string]float64     // by the function running (the innermost inlined one)
	outer  map[string]float64     // by the function whose code runs (inlined ones folded in)
	own    map[string]float64     // share, less the samples inside its code inlined elsewhere
	lines  map[string]map[int]int // by share's function
	olines map[string]map[int]int // by outer's function
	total  int
	byLine map[string]float64 // "file:line" of the running code → share
	lineFn map[string]string  // "file:line" → the function it was counted for
	nLines int
	// V8's profile: functions whose ticks mostly fell on their own
	// line, which is all V8 says of code it has no positions for.
	unlined map[string]bool
	// V8's profile: samples given to a function from a native function
	// it called (fs bindings: V8 samples wall time, a thread blocked in
	// a system call included; tracer samples CPU time).
	viaNative map[string]int
	samples   map[string]int
}

func newJSProfile() *jsProfile {
	return &jsProfile{share: map[string]float64{}, outer: map[string]float64{}, own: map[string]float64{},
		lines: map[string]map[int]int{}, olines: map[string]map[int]int{}, byLine: map[string]float64{},
		lineFn: map[string]string{}, unlined: map[string]bool{}, viaNative: map[string]int{}, samples: map[string]int{}}
}

func (p *jsProfile) addLine(fn, file string, line, n int) {
	if line > 0 {
		k := lineKey(file, line)
		p.byLine[k] += float64(n)
		p.lineFn[k] = fn
		p.nLines += n
	}
}

func lineKey(file string, line int) string {
	return fmt.Sprintf("%s:%d", filepath.Base(strings.TrimPrefix(file, "file://")), line)
}

// near sums the shares of the lines within two of a "file:line": the
// position of a statement and of the expression running in it differ by a
// line or two between the two profiles.
func (p *jsProfile) near(k string) float64 {
	i := strings.LastIndexByte(k, ':')
	line, _ := strconv.Atoi(k[i+1:])
	sum := 0.0
	for d := -2; d <= 2; d++ {
		sum += p.byLine[fmt.Sprintf("%s:%d", k[:i], line+d)]
	}
	return sum
}

// without returns the line shares of the functions V8 gave no lines for
// left out.
func (p *jsProfile) without(unlined map[string]bool) map[string]float64 {
	m := map[string]float64{}
	for k, v := range p.byLine {
		if !unlined[p.lineFn[k]] {
			m[k] = v
		}
	}
	return m
}

func (p *jsProfile) add(key string, line, n int) {
	p.share[key] += float64(n)
	p.total += n
	if line > 0 {
		if p.lines[key] == nil {
			p.lines[key] = map[int]int{}
		}
		p.lines[key][line] += n
	}
}

func (p *jsProfile) done() *jsProfile {
	for _, m := range []map[string]float64{p.share, p.outer, p.own} {
		for k := range m {
			m[k] /= float64(p.total)
		}
	}
	for k := range p.byLine {
		p.byLine[k] /= float64(p.nLines)
	}
	return p
}

// hotLines returns a function's lines, most samples first.
func hotLines(m map[string]map[int]int, key string) []int {
	var lines []int
	for l := range m[key] {
		lines = append(lines, l)
	}
	sort.Slice(lines, func(i, j int) bool { return m[key][lines[i]] > m[key][lines[j]] })
	return lines
}

func (p *jsProfile) hotLines(key string) []int { return hotLines(p.lines, key) }

// cpuProfJS reads a V8 .cpuprofile: a sample goes to its leaf node, or,
// when that is no function of a script (a native function, a builtin),
// to the nearest caller that is; (program), (garbage collector) and
// (idle) are left out. Lines come from the nodes' position ticks (their
// self samples by line), but for a function's own line.
func cpuProfJS(t *testing.T, path string) *jsProfile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cp struct {
		Nodes []struct {
			ID        int `json:"id"`
			CallFrame struct {
				FunctionName string `json:"functionName"`
				URL          string `json:"url"`
				LineNumber   int    `json:"lineNumber"` // of the function, from 0
			} `json:"callFrame"`
			Children      []int `json:"children"`
			PositionTicks []struct {
				Line  int `json:"line"`
				Ticks int `json:"ticks"`
			} `json:"positionTicks"`
		} `json:"nodes"`
		Samples []int `json:"samples"`
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		t.Fatal(err)
	}
	key, parent := map[int]string{}, map[int]int{}
	for _, n := range cp.Nodes {
		if n.CallFrame.URL != "" && !strings.HasPrefix(n.CallFrame.FunctionName, "(") || n.CallFrame.FunctionName == "" && n.CallFrame.URL != "" {
			key[n.ID] = jsKey(n.CallFrame.FunctionName, n.CallFrame.URL)
		}
		for _, c := range n.Children {
			parent[c] = n.ID
		}
	}
	p := newJSProfile()
	for _, s := range cp.Samples {
		for id, ok := s, true; ok; id, ok = parent[id] {
			if k, js := key[id]; js {
				p.add(k, 0, 1)
				p.samples[k]++
				if id != s {
					p.viaNative[k]++
				}
				break
			}
		}
	}
	own, lined := map[string]int{}, map[string]int{}
	for _, n := range cp.Nodes {
		if k, js := key[n.ID]; js {
			for _, pt := range n.PositionTicks {
				if pt.Line == n.CallFrame.LineNumber+1 {
					// The function's own line: what V8's profiler
					// says of code it has no positions for (Maglev
					// code, node 24).
					own[k] += pt.Ticks
					continue
				}
				lined[k] += pt.Ticks
				if p.lines[k] == nil {
					p.lines[k] = map[int]int{}
				}
				p.lines[k][pt.Line] += pt.Ticks
				p.addLine(k, n.CallFrame.URL, pt.Line, pt.Ticks)
			}
		}
	}
	for k, n := range own {
		p.unlined[k] = n > lined[k]
	}
	return p.done()
}

// tracerJS gives each sample that holds a JS frame of a script to its
// leaf-most one, as V8's profiler gives the time of what a function calls
// outside scripts (a compilation, a builtin such as String.prototype.match,
// which tracer shows as a frame of its own) to that function. A function
// inlined there is counted both ways: as itself (tracer's frames), and
// folded into the function whose code runs, with its own line, as V8's
// profiler sometimes does (it put the time of eslint's inlined
// findLastNotAfter on setDesiredOffsets, at findLastNotAfter's lines, while
// naming esrecurse's inlined Visitor as itself).
func tracerJS(pr *profile.Profile) *jsProfile {
	p := newJSProfile()
	for _, s := range pr.Sample {
		if inGC(s) {
			continue // V8's profile has these as (garbage collector)
		}
		for k, l := range s.Location {
			if !isScriptJS(l) {
				continue
			}
			inner, outer := l.Line[0], l.Line[0]
			for j := k + 1; j < len(s.Location) && s.Location[j].Address == l.Address && isScriptJS(s.Location[j]); j++ {
				outer = s.Location[j].Line[0]
			}
			n, line := int(weight(s)), int(inner.Line)
			in, out := jsKey(inner.Function.Name, inner.Function.Filename), jsKey(outer.Function.Name, outer.Function.Filename)
			p.add(in, line, n)
			p.outer[out] += float64(n)
			if in == out {
				p.own[in] += float64(n)
			}
			if line > 0 {
				if p.olines[out] == nil {
					p.olines[out] = map[int]int{}
				}
				p.olines[out][line] += n
			}
			p.addLine(in, inner.Function.Filename, line, n)
			break
		}
	}
	return p.done()
}

// inGC says whether a sample was taken in V8's garbage collector.
func inGC(s *profile.Sample) bool {
	for _, l := range s.Location {
		for _, ln := range l.Line {
			n := ln.Function.Name
			if strings.HasPrefix(n, "v8::internal::") && (strings.Contains(n, "CollectGarbage") || strings.Contains(n, "PerformGarbageCollection") ||
				strings.Contains(n, "Scavenge") || strings.Contains(n, "MarkCompact") || strings.Contains(n, "IncrementalMarking")) {
				return true
			}
		}
	}
	return false
}

func isScriptJS(l *profile.Location) bool {
	return len(l.Line) > 0 && strings.HasPrefix(l.Line[0].Function.SystemName, "js:") && l.Line[0].Function.Filename != ""
}

func top(m map[string]float64, n int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	return keys[:min(n, len(keys))]
}

// tracer's top JS functions on eslint agree with V8's own profiler
// (--cpu-prof) of the same run: no hot function invented, the hottest
// ones found.
func TestJSFramesEslintAgainstCPUProf(t *testing.T) {
	needPerf(t)
	eslint := filepath.Join(eslintDir(), "node_modules", "eslint", "bin", "eslint.js")
	if _, err := os.Stat(eslint); err != nil {
		t.Skipf("eslint is not installed (%s): .ci/run installs it with npm", eslint)
	}
	for name, node := range testbin.Nodes(t) {
		t.Run(name, func(t *testing.T) {
			// Two samplers of one run on a busy machine: V8's now and
			// then gives a few hundred ticks to a function tracer sees
			// little CPU in. A second run must then agree.
			bad := eslintAgainstCPUProf(t, node, eslint)
			if len(bad) > 0 {
				t.Logf("the profiles disagree, run again:\n%s", strings.Join(bad, "\n"))
				bad = eslintAgainstCPUProf(t, node, eslint)
			}
			for _, b := range bad {
				t.Error(b)
			}
		})
	}
}

// eslintAgainstCPUProf runs eslint under tracer and V8's profiler and
// returns what disagrees.
func eslintAgainstCPUProf(t *testing.T, node, eslint string) (bad []string) {
	t.Helper()
	errorf := func(format string, a ...any) { bad = append(bad, fmt.Sprintf(format, a...)) }
	lib := filepath.Join(eslintDir(), "node_modules", "eslint", "lib")
	files, _ := filepath.Glob(filepath.Join(lib, "rules", "*.js"))
	prof := t.TempDir()
	// --no-ignore: eslint skips files under node_modules by default.
	argv := append([]string{node, "--cpu-prof", "--cpu-prof-dir=" + prof, eslint, "--no-eslintrc", "--no-ignore",
		"--env", "es2022,node", "--parser-options=ecmaVersion:2022",
		"--rule", `{"no-unused-vars":"error","semi":"error","indent":["error",4],"quotes":"error","no-undef":"error"}`,
		filepath.Join(lib, "linter", "linter.js")}, files...)
	out := filepath.Join(os.Getenv("ESLINT_OUT"), "eslint.pb.gz")
	if os.Getenv("ESLINT_OUT") == "" {
		out = filepath.Join(t.TempDir(), "eslint.pb.gz")
	}
	var log bytes.Buffer
	_, err := Run(context.Background(), Config{
		Command: argv, Freq: 999, Output: out, Log: &log, Plugins: jsPlugins(&log),
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	profs, _ := filepath.Glob(filepath.Join(prof, "*.cpuprofile"))
	if len(profs) != 1 {
		t.Fatalf("V8 wrote %d profiles in %s", len(profs), prof)
	}
	want := cpuProfJS(t, profs[0])
	p := testbin.ReadProfile(t, out)
	got := tracerJS(p)
	t.Logf("%d of %d samples hold a JS frame of a script; V8's profile has %d", got.total, len(p.Sample), want.total)
	if got.total < 1000 {
		t.Fatalf("%d samples with a JS frame: eslint did not lint (log:\n%s)", got.total, log.String())
	}
	for _, f := range top(want.share, 8) {
		t.Logf("cpu-prof %-45s %.3f lines %v  tracer %.3f (folded %.3f) lines %v", f, want.share[f], first(want.hotLines(f), 3),
			got.share[f], got.outer[f], first(got.hotLines(f), 3))
	}
	for _, f := range top(got.share, 8) {
		t.Logf("tracer   %-45s %.3f (not inlined %.3f)  cpu-prof %.3f", f, got.share[f], got.own[f], want.share[f])
	}
	// No invented hot function: what tracer gives each of its top
	// functions, outside code it was inlined into, is about as hot in
	// V8's own profile.
	for _, f := range top(got.share, 5) {
		if got.own[f] > 2*want.share[f]+0.02 {
			errorf("%s: %.3f of tracer's JS samples (not inlined), %.3f of V8's", f, got.own[f], want.share[f])
		}
	}
	// The hottest functions are found, about as hot, counted as V8 does
	// one way or the other.
	found := 0
	mine := map[string]bool{}
	for _, f := range append(top(got.share, 10), top(got.outer, 10)...) {
		mine[f] = true
	}
	for _, f := range top(want.share, 5) {
		if mine[f] {
			found++
		}
		if want.viaNative[f]*2 > want.samples[f] {
			t.Logf("%s: %d of V8's %d samples in native functions it called (wall time)", f, want.viaNative[f], want.samples[f])
			found++
			continue
		}
		if want.share[f] > 2*max(got.share[f], got.outer[f])+0.02 {
			errorf("%s: %.3f of V8's JS samples, %.3f of tracer's (%.3f folded)", f, want.share[f], got.share[f], got.outer[f])
		}
	}
	if found < 4 {
		errorf("%d of V8's 5 hottest functions among tracer's 10 (%v vs %v, folded %v)", found, top(want.share, 5), top(got.share, 10), top(got.outer, 10))
	}
	// Lines: where both have a function's lines, tracer's hottest line is
	// one of V8's three hottest for it, either way of counting.
	// V8's profiler samples wall time: a thread descheduled on a busy
	// machine gives its function's current line a burst of ticks, where
	// tracer samples CPU time; and it counts a function inlined into
	// another one way or the other. Half may disagree.
	judged, agree := 0, 0
	for _, f := range top(want.share, 8) {
		w := want.hotLines(f)
		g, o := got.hotLines(f), hotLines(got.olines, f)
		if len(w) == 0 || len(g) == 0 && len(o) == 0 {
			continue
		}
		judged++
		if len(g) > 0 && nearOne(first(w, 3), g[0]) || len(o) > 0 && nearOne(first(w, 3), o[0]) {
			agree++
		} else {
			t.Logf("%s: tracer's hottest line %v (folded %v), V8's hottest %v", f, first(g, 1), first(o, 1), first(w, 3))
		}
	}
	if judged < 5 || agree*2 < judged {
		errorf("the hottest line of %d of V8's 8 hottest functions is one of V8's 3 hottest for it, of %d with lines in both", agree, judged)
	}
	// The hottest lines, whatever function each profile names them by,
	// but for functions V8 gave no lines for, each within two lines.
	wantLines, gotLines := want.without(want.unlined), got.without(want.unlined)
	for _, l := range top(wantLines, 8) {
		t.Logf("cpu-prof line %-30s %.3f  tracer %.3f (near %.3f)", l, want.byLine[l], got.byLine[l], got.near(l))
	}
	found = 0
	for _, l := range top(wantLines, 5) {
		if got.near(l)*2+0.02 >= want.byLine[l] {
			found++
		}
	}
	if found < 4 {
		errorf("%d of V8's 5 hottest lines about as hot in tracer's profile, within two lines (%v vs %v)", found, top(wantLines, 5), top(gotLines, 10))
	}
	for _, l := range top(gotLines, 5) {
		if got.byLine[l] > 2*want.near(l)+0.02 {
			errorf("line %s: %.3f of tracer's JS samples, %.3f of V8's within two lines", l, got.byLine[l], want.near(l))
		}
	}
	if len(want.unlined) > 0 {
		var names []string
		for k, u := range want.unlined {
			if u {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		t.Logf("V8 gave no lines for %d functions (%s)", len(names), strings.Join(first2(names, 5), ", "))
	}
	return bad
}

func first2(s []string, n int) []string { return s[:min(n, len(s))] }

func first(s []int, n int) []int { return s[:min(n, len(s))] }

// nearOne says whether line is within two of one of lines.
func nearOne(lines []int, line int) bool {
	return slices.ContainsFunc(lines, func(l int) bool { return l-2 <= line && line <= l+2 })
}
