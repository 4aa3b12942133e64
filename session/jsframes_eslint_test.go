package session

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/tracer-dev/tracer/internal/testbin"
)

// eslintDir is where .ci/run installs eslint from npm for this test.
func eslintDir() string { return filepath.Join(filepath.Dir(testbin.NodeCache()), "eslint") }

// cpuProfShares reads a V8 .cpuprofile: each sample goes to the function
// of its leaf node; native time ((program), (garbage collector)) is left
// out. It returns shares of the samples kept.
func cpuProfShares(t *testing.T, path string) map[string]float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Nodes []struct {
			ID        int `json:"id"`
			CallFrame struct {
				FunctionName string `json:"functionName"`
			} `json:"callFrame"`
		} `json:"nodes"`
		Samples []int `json:"samples"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	name := map[int]string{}
	for _, n := range p.Nodes {
		name[n.ID] = n.CallFrame.FunctionName
		if name[n.ID] == "" {
			name[n.ID] = "(anonymous)"
		}
	}
	count, total := map[string]float64{}, 0.0
	for _, s := range p.Samples {
		n := name[s]
		if strings.HasPrefix(n, "(") && n != "(anonymous)" {
			continue
		}
		count[n]++
		total++
	}
	for k := range count {
		count[k] /= total
	}
	return count
}

// jsLeafShares gives each sample that holds a JS frame of a script to its
// leaf-most one, as V8's profiler gives the time of what a function calls
// outside scripts (a compilation, a builtin such as String.prototype.match,
// which tracer shows as a frame of its own) to that function.
func jsLeafShares(p *profile.Profile) (map[string]float64, int) {
	count, total := map[string]float64{}, 0
	for _, s := range p.Sample {
		for _, l := range s.Location {
			if len(l.Line) > 0 && strings.HasPrefix(l.Line[0].Function.SystemName, "js:") && l.Line[0].Function.Filename != "" {
				count[l.Line[0].Function.Name] += float64(weight(s))
				total += int(weight(s))
				break
			}
		}
	}
	for k := range count {
		count[k] /= float64(total)
	}
	return count, total
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
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on PATH")
	}
	lib := filepath.Join(eslintDir(), "node_modules", "eslint", "lib")
	files, _ := filepath.Glob(filepath.Join(lib, "rules", "*.js"))
	prof := t.TempDir()
	argv := append([]string{node, "--cpu-prof", "--cpu-prof-dir=" + prof, eslint, "--no-eslintrc",
		"--env", "es2022,node", "--parser-options=ecmaVersion:2022",
		"--rule", `{"no-unused-vars":"error","semi":"error","indent":["error",4],"quotes":"error","no-undef":"error"}`,
		filepath.Join(lib, "linter", "linter.js")}, files...)
	out := filepath.Join(os.Getenv("ESLINT_OUT"), "eslint.pb.gz")
	if os.Getenv("ESLINT_OUT") == "" {
		out = filepath.Join(t.TempDir(), "eslint.pb.gz")
	}
	var log bytes.Buffer
	_, err = Run(context.Background(), Config{
		Command: argv, Freq: 999, Output: out, Log: &log, Plugins: jsPlugins(&log),
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	profs, _ := filepath.Glob(filepath.Join(prof, "*.cpuprofile"))
	if len(profs) != 1 {
		t.Fatalf("V8 wrote %d profiles in %s", len(profs), prof)
	}
	want := cpuProfShares(t, profs[0])
	p := testbin.ReadProfile(t, out)
	got, n := jsLeafShares(p)
	t.Logf("%d of %d samples hold a JS frame", n, len(p.Sample))
	for _, f := range top(want, 8) {
		t.Logf("cpu-prof %-28s %.3f  tracer %.3f", f, want[f], got[f])
	}
	for _, f := range top(got, 8) {
		t.Logf("tracer   %-28s %.3f  cpu-prof %.3f", f, got[f], want[f])
	}
	// No invented hot function: each of tracer's top functions is about
	// as hot in V8's own profile.
	for _, f := range top(got, 5) {
		if got[f] > 2*want[f]+0.04 {
			t.Errorf("%s: %.3f of tracer's JS samples, %.3f of V8's", f, got[f], want[f])
		}
	}
	// The hottest functions are found.
	found := 0
	mine := map[string]bool{}
	for _, f := range top(got, 10) {
		mine[f] = true
	}
	for _, f := range top(want, 5) {
		if mine[f] {
			found++
		}
	}
	if found < 3 {
		t.Errorf("%d of V8's 5 hottest functions among tracer's 10 (%v vs %v)", found, top(want, 5), top(got, 10))
	}
}
