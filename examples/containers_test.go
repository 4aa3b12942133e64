package examples

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// The acceptance run: 20 000 steps of seed 5 in both languages; each
// trace conforms, and the two agree step by step.
func TestContainersConform(t *testing.T) {
	py := pythonContainer(t, "python3").trace(t, "--steps", "20000", "--seed", "5")
	js := nodeContainer(t).trace(t, "--steps", "20000", "--seed", "5")
	mustConform(t, 20000, py)
	mustConform(t, 20000, js)
	mustConform(t, 20000, py, js)
	mustConform(t, 20000, "--relation", "bisim", py, js)

	recs := readTrace(t, py)
	if recs[0].Kind != "init" || recs[0].State.AgentID != "CICADA-Harbot-0" {
		t.Errorf("first record %+v, want the init state of CICADA-Harbot-0", recs[0])
	}
	kinds := map[string]int{}
	astral := 0
	for _, r := range recs[1:] {
		a := r.action(t)
		kinds[a.Type]++
		if utf16Len(a.Content) != utf8.RuneCountInString(a.Content) {
			astral++
		}
	}
	for _, k := range []string{"register", "post", "comment", "distribute"} {
		if kinds[k] < 1000 {
			t.Errorf("%d %s actions in 20000 steps: the generator should mix all four", kinds[k], k)
		}
	}
	if astral < 1000 {
		t.Errorf("%d contents with astral-plane characters, want many", astral)
	}
}

func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// The two generators are one PRNG: the same seed gives byte-identical
// workloads, for seeds at both ends of the range.
func TestSameActions(t *testing.T) {
	py, js := pythonContainer(t, "python3"), nodeContainer(t)
	for _, seed := range []string{"0", "1", "5", "77", "123456789", "4294967295"} {
		t.Run("seed "+seed, func(t *testing.T) {
			a := py.run(t, "", "--steps", "3000", "--seed", seed, "--emit-actions")
			b := js.run(t, "", "--steps", "3000", "--seed", seed, "--emit-actions")
			if a.code != 0 || b.code != 0 {
				t.Fatalf("exit %d and %d: %s %s", a.code, b.code, a.stderr, b.stderr)
			}
			if n := strings.Count(a.stdout, "\n"); n != 3000 {
				t.Fatalf("python: %d actions, want 3000", n)
			}
			if a.stdout != b.stdout {
				al, bl := strings.Split(a.stdout, "\n"), strings.Split(b.stdout, "\n")
				for i := range al {
					if i >= len(bl) || al[i] != bl[i] {
						t.Fatalf("action %d differs:\npython: %s\nnode:   %s", i+1, al[i], bl[min(i, len(bl)-1)])
					}
				}
				t.Fatal("the workloads differ")
			}
		})
	}
	a := py.run(t, "", "--steps", "5", "--seed", "1", "--emit-actions")
	b := py.run(t, "", "--steps", "5", "--seed", "2", "--emit-actions")
	if a.stdout == b.stdout {
		t.Error("seeds 1 and 2 gave the same workload")
	}
}

// The workload files replay identically in both containers, with Unicode
// lengths counted in scalar values and naturals beyond 2^64 kept exact.
func TestWorkloads(t *testing.T) {
	py, js := pythonContainer(t, "python3"), nodeContainer(t)
	files, err := filepath.Glob(filepath.Join(root, "examples", "workloads", "*.jsonl"))
	if err != nil || len(files) < 2 {
		t.Fatalf("workloads: %v %v: want examples/workloads/*.jsonl", files, err)
	}
	for _, w := range files {
		t.Run(filepath.Base(w), func(t *testing.T) {
			b, err := os.ReadFile(w)
			if err != nil {
				t.Fatal(err)
			}
			steps := strings.Count(strings.TrimSpace(string(b)), "\n") + 1
			pt := py.trace(t, "--actions", w)
			jt := js.trace(t, "--actions", w)
			mustConform(t, steps, pt)
			mustConform(t, steps, jt)
			mustConform(t, steps, pt, jt)
			for _, tr := range []string{pt, jt} {
				for _, r := range readTrace(t, tr)[1:] {
					a := r.action(t)
					if a.Type == "post" && !a.ContentCapped && !r.State.DataCapped && r.State.Data[0].String() != strconv.Itoa(utf8.RuneCountInString(a.Content)) {
						t.Errorf("%s seq %d: post of %q recorded %s, want %d scalar values",
							filepath.Base(tr), r.Seq, a.Content, r.State.Data[0], utf8.RuneCountInString(a.Content))
					}
				}
			}
		})
	}
	// caps.jsonl goes beyond the caps: both traces record lengths in scalar values.
	caps := filepath.Join(root, "examples", "workloads", "caps.jsonl")
	for _, c := range []container{py, js} {
		recs := readTrace(t, c.trace(t, "--actions", caps))
		a := recs[3].action(t)
		if !a.ContentCapped || a.ContentLen != 5000 || !recs[3].State.DataCapped || recs[3].State.DataLen != 1501 {
			t.Errorf("%s: seq 3 %+v %+v, want content_len 5000 (emoji) and data_len 1501, both capped", c.name, a, recs[3].State)
		}
		if a := recs[5].action(t); a.ContentCapped || utf8.RuneCountInString(a.Content) != 4096 {
			t.Errorf("%s: seq 5: content of 4096 scalar values must not be capped", c.name)
		}
	}
	// bignat.jsonl distributes 2^64 and 10^29 + ...: both traces keep the digits.
	w := filepath.Join(root, "examples", "workloads", "bignat.jsonl")
	for _, c := range []container{py, js} {
		recs := readTrace(t, c.trace(t, "--actions", w))
		last := recs[len(recs)-1].State.Data
		if got := fmt.Sprint(last); got != "[1 123456789012345678901234567890 7]" {
			t.Errorf("%s: final data %s, want [1 123456789012345678901234567890 7]", c.name, got)
		}
		if got := fmt.Sprint(recs[4].State.Data); got != "[9007199254740992 9007199254740993 18446744073709551615 18446744073709551616]" {
			t.Errorf("%s: data after the big distribute %s", c.name, got)
		}
	}
}

// A bad workload line stops the container before its first step with exit 2
// and "FILE:LINE: problem".
func TestWorkloadErrors(t *testing.T) {
	good := `{"type":"register","name":"a"}` + "\n" + `{"type":"post","author":"a","content":"🦀"}` + "\n\n"
	cases := []struct {
		name, line string
		want       string // in the message, after "FILE:4: "
	}{
		{"not JSON", `{"type":"post",`, "not JSON"},
		{"not an object", `[1,2]`, "an action must be a JSON object"},
		{"unknown type", `{"type":"like","author":"a"}`, `unknown action type "like"`},
		{"no type", `{"name":"a"}`, "unknown action type"},
		{"register without name", `{"type":"register"}`, `register needs a string "name"`},
		{"post content not a string", `{"type":"post","author":"a","content":5}`, `post needs a string "content"`},
		{"comment without author", `{"type":"comment","content":"c"}`, `comment needs a string "author"`},
		{"items not a list", `{"type":"distribute","items":3}`, `distribute needs an array "items"`},
		{"negative item", `{"type":"distribute","items":[1,-2]}`, "distribute item 2 is -2, not a natural number"},
		{"fractional item", `{"type":"distribute","items":[1.5]}`, "distribute item 1 is 1.5, not a natural number"},
		{"exponent item", `{"type":"distribute","items":[0,1e3]}`, "distribute item 2 is 1"},
		{"boolean item", `{"type":"distribute","items":[true]}`, "distribute item 1 is true, not a natural number"},
		{"string item", `{"type":"distribute","items":["7"]}`, `distribute item 1 is "7", not a natural number`},
	}
	py, js := pythonContainer(t, "python3"), nodeContainer(t)
	for _, c := range cases {
		for _, ct := range []container{py, js} {
			t.Run(c.name+"/"+ct.name, func(t *testing.T) {
				dir := t.TempDir()
				w := filepath.Join(dir, "w.jsonl")
				if err := os.WriteFile(w, []byte(good+c.line+"\n"+`{"type":"comment","author":"a","content":"b"}`+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				trace := filepath.Join(dir, "trace.jsonl")
				res := ct.run(t, trace, "--actions", w)
				if res.code != 2 {
					t.Fatalf("exit %d, want 2 (stderr %q)", res.code, res.stderr)
				}
				if want := w + ":4: " + c.want; !strings.Contains(res.stderr, want) {
					t.Fatalf("stderr %q, want it to contain %q", res.stderr, want)
				}
				if _, err := os.Stat(trace); err == nil {
					t.Error("a trace was written: the workload must be checked before the first step")
				}
			})
		}
	}
	for _, ct := range []container{py, js} {
		res := ct.run(t, "", "--actions", filepath.Join(t.TempDir(), "missing.jsonl"))
		if res.code != 2 || !strings.Contains(res.stderr, "missing.jsonl: cannot read the workload") {
			t.Errorf("%s, missing workload: exit %d, stderr %q", ct.name, res.code, res.stderr)
		}
	}
}

// Bad flags are usage errors: exit 2.
func TestBadArguments(t *testing.T) {
	for _, ct := range []container{pythonContainer(t, "python3"), nodeContainer(t)} {
		for _, args := range [][]string{
			{"--seed", "-1"},
			{"--seed", "4294967296"},
			{"--steps", "ten"},
			{"--shard", "-3"},
			{"--bogus"},
		} {
			res := ct.run(t, "", args...)
			if res.code != 2 || res.stderr == "" {
				t.Errorf("%s %v: exit %d, stderr %q; want 2 and a message", ct.name, args, res.code, res.stderr)
			}
		}
	}
}

// The planted bugs are caught at the right step: the Node UTF-16 post length
// only under exact (bisim sees equal lengths), the Python comment that changes
// the state under both relations.
func TestPlantedBugs(t *testing.T) {
	t.Run("node utf16 post length", func(t *testing.T) {
		c := mustFind(t, container{"node", "node", filepath.Join(root, "examples", "buggy", "nodejs_utf16.js")})
		trace := c.trace(t, "--steps", "2000", "--seed", "5")
		var want uint64
		for _, r := range readTrace(t, trace)[1:] {
			if a := r.action(t); a.Type == "post" && utf16Len(a.Content) != utf8.RuneCountInString(a.Content) {
				want = r.Seq
				break
			}
		}
		if want == 0 {
			t.Fatal("seed 5 has no post with an astral-plane character in 2000 steps")
		}
		v := check(t, trace)
		if v.code != 1 || v.FirstDivergence == nil || v.FirstDivergence.Seq != want {
			t.Fatalf("exit %d, divergence %+v; want exit 1 at seq %d\n%s", v.code, v.FirstDivergence, want, v.raw)
		}
		mustConform(t, 2000, "--relation", "bisim", trace)
	})
	t.Run("python comment changes the state", func(t *testing.T) {
		c := pythonContainer(t, "python3")
		c.script = filepath.Join(root, "examples", "buggy", "python_comment_counts.py")
		trace := c.trace(t, "--steps", "2000", "--seed", "9")
		var want uint64
		for _, r := range readTrace(t, trace)[1:] {
			if r.action(t).Type == "comment" {
				want = r.Seq
				break
			}
		}
		for _, rel := range []string{"exact", "bisim"} {
			v := check(t, "--relation", rel, trace)
			if v.code != 1 || v.FirstDivergence == nil || v.FirstDivergence.Seq != want {
				t.Fatalf("--relation %s: exit %d, divergence %+v; want exit 1 at seq %d\n%s", rel, v.code, v.FirstDivergence, want, v.raw)
			}
		}
	})
}

// Every pyenv Python from 3.8 on, and Debian's (a static build), runs the
// container, its trace conforms, and it agrees with node's step by step.
func TestPythonVersions(t *testing.T) {
	bins, _ := filepath.Glob("/root/.pyenv/versions/3.*/bin/python3")
	bins = append(bins, "/usr/bin/python3")
	var use []string
	for _, b := range bins {
		out, err := exec.Command(b, "-c", "import sys; print(sys.version_info >= (3, 8))").Output()
		if err == nil && strings.TrimSpace(string(out)) == "True" {
			use = append(use, b)
		}
	}
	sort.Strings(use)
	if len(use) == 0 {
		t.Skip("no pyenv Python 3.8+ under /root/.pyenv/versions and no /usr/bin/python3 (python3 on PATH is tested by the other tests)")
	}
	js := nodeContainer(t).trace(t, "--steps", "3000", "--seed", "11")
	for _, b := range use {
		t.Run(strings.TrimPrefix(b, "/root/.pyenv/versions/"), func(t *testing.T) {
			t.Parallel()
			py := pythonContainer(t, b).trace(t, "--steps", "3000", "--seed", "11")
			mustConform(t, 3000, py)
			mustConform(t, 3000, py, js)
		})
	}
}
