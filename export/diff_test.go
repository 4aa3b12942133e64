package export

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// buildProfile makes a profile whose samples are given as "root;...;leaf" stacks
// with a count and an optional action label.
func buildProfile(t *testing.T, stacks map[string]int64, actions map[string]string) *profile.Profile {
	t.Helper()
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10101010,
	}
	funcs := map[string]*profile.Function{}
	locs := map[string]*profile.Location{}
	for stack, n := range stacks {
		names := strings.Split(stack, ";")
		s := &profile.Sample{Value: []int64{n, n * p.Period}}
		for i := len(names) - 1; i >= 0; i-- {
			name := names[i]
			if funcs[name] == nil {
				funcs[name] = &profile.Function{ID: uint64(len(funcs) + 1), Name: name, SystemName: name}
				p.Function = append(p.Function, funcs[name])
				locs[name] = &profile.Location{ID: uint64(len(locs) + 1), Line: []profile.Line{{Function: funcs[name]}}}
				p.Location = append(p.Location, locs[name])
			}
			s.Location = append(s.Location, locs[name])
		}
		if a := actions[stack]; a != "" {
			s.Label = map[string][]string{"action": {a}}
		}
		p.Sample = append(p.Sample, s)
	}
	if err := p.CheckValid(); err != nil {
		t.Fatalf("test profile invalid: %v", err)
	}
	return p
}

func TestCompareProfiles(t *testing.T) {
	a := buildProfile(t, map[string]int64{
		"main;transition;post": 60,
		"main;transition;dist": 20,
		"main;idle":            20,
	}, map[string]string{"main;transition;post": "post", "main;transition;dist": "distribute"})
	b := buildProfile(t, map[string]int64{
		"main;transition;post": 30,
		"main;transition;dist": 50,
		"main;idle":            20,
	}, map[string]string{"main;transition;post": "post", "main;transition;dist": "distribute"})

	// Round-trip through the file format, as `tracer diff` reads it.
	dir := t.TempDir()
	for name, p := range map[string]*profile.Profile{"a.pb.gz": a, "b.pb.gz": b} {
		if err := writeProfileFile(filepath.Join(dir, name), p); err != nil {
			t.Fatal(err)
		}
	}
	ra, err := ReadProfile(filepath.Join(dir, "a.pb.gz"))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := ReadProfile(filepath.Join(dir, "b.pb.gz"))
	if err != nil {
		t.Fatal(err)
	}

	d := CompareProfiles("a", ra, "b", rb)
	if d.TotalA != 100 || d.TotalB != 100 {
		t.Fatalf("totals = %d, %d; want 100, 100", d.TotalA, d.TotalB)
	}
	// post and dist both moved by 30 points; they lead, the busier one (post) first.
	if d.Functions[0].Name != "post" || d.Functions[1].Name != "dist" {
		t.Fatalf("largest changes = %s, %s; want post, dist", d.Functions[0].Name, d.Functions[1].Name)
	}
	if got := d.Functions[0].Delta(); got > -0.299 || got < -0.301 {
		t.Errorf("post delta = %v, want -0.30", got)
	}
	for _, r := range d.Functions {
		if r.Name == "transition" && (r.CumA != 0.8 || r.CumB != 0.8 || r.FlatA != 0) {
			t.Errorf("transition row = %+v, want cum 0.8 in both and no self time", r)
		}
	}
	if len(d.Actions) != 2 || d.Actions[0].Name != "distribute" || d.Actions[0].CountB != 50 {
		t.Fatalf("actions = %+v, want distribute (20 → 50) and post", d.Actions)
	}

	var out bytes.Buffer
	if err := d.WriteText(&out, 0); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"transition", "per action", "distribute", "+30.00%", "-30.00%"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	if err := WriteDiffFolded(&out, ra, rb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "main;transition;post 60 30\n") {
		t.Errorf("folded diff lacks the post stack:\n%s", out.String())
	}
}

func TestReadProfileRejectsGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk.pb.gz")
	if err := writeFile(path, []byte("not a profile")); err != nil {
		t.Fatal(err)
	}
	_, err := ReadProfile(path)
	if err == nil || !strings.Contains(err.Error(), "not a pprof profile") {
		t.Fatalf("err = %v, want one naming the file as not a pprof profile", err)
	}
}
