package export

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/tracer-dev/tracer/symbolize"
)

func testProfile() *Profile {
	exe := symbolize.Mapping{Start: 0x400000, Limit: 0x401000, Path: "/usr/bin/burn", BuildID: "abcd"}
	lib := symbolize.Mapping{Start: 0x7f0000000000, Limit: 0x7f0000100000, Offset: 0x1000, Path: "/lib/libc.so.6"}
	main := symbolize.Frame{Function: "main", File: "burn.c", Line: 40, Module: "/usr/bin/burn", Addr: 0x400100, Kind: symbolize.Native}
	three := symbolize.Frame{Function: "burn_three", File: "burn.c", Line: 12, Module: "/usr/bin/burn", Addr: 0x400200, Kind: symbolize.Native}
	one := symbolize.Frame{Function: "burn_one", Module: "/usr/bin/burn", Addr: 0x400300, Kind: symbolize.Native}
	write := symbolize.Frame{Function: "write", Module: "/lib/libc.so.6", Addr: 0x7f0000000400, Kind: symbolize.Native}
	ksys := symbolize.Frame{Function: "ksys_write", Module: "[kernel.kallsyms]", Addr: 0xffffffff81000000, Kind: symbolize.Kernel}
	js := symbolize.Frame{Function: "JS:*transition /app.js:1:20", Module: "[jit]", Addr: 0x3000, Kind: symbolize.JIT}
	p := &Profile{
		Mappings: map[int][]symbolize.Mapping{10: {exe, lib}},
		Freq:     100,
		Start:    time.Unix(1700000000, 0),
		Duration: 2 * time.Second,
		Lost:     3,
	}
	for i := 0; i < 3; i++ {
		p.Samples = append(p.Samples, Sample{Stack: []symbolize.Frame{three, main}, PID: 10, TID: 10, Comm: "burn", Step: 7, Action: "post"})
	}
	p.Samples = append(p.Samples,
		Sample{Stack: []symbolize.Frame{one, main}, PID: 10, TID: 11, Comm: "burn", Period: 12345},
		Sample{Stack: []symbolize.Frame{ksys, write, main}, PID: 10, TID: 10, Comm: "burn"},
		Sample{Stack: []symbolize.Frame{js}, PID: 10, TID: 10, Comm: "node;x"},
	)
	return p
}

func TestPprofRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WritePprof(&buf, testProfile()); err != nil {
		t.Fatal(err)
	}
	prof, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := prof.CheckValid(); err != nil {
		t.Fatal(err)
	}
	if len(prof.SampleType) != 2 || prof.SampleType[0].Type != "samples" || prof.SampleType[1].Unit != "nanoseconds" {
		t.Errorf("sample types %v", prof.SampleType)
	}
	if prof.Period != 10_000_000 || prof.DurationNanos != 2e9 {
		t.Errorf("period %d duration %d", prof.Period, prof.DurationNanos)
	}
	var stacks []string
	var posts int
	for _, s := range prof.Sample {
		var names []string
		for _, l := range s.Location {
			names = append(names, l.Line[0].Function.Name)
		}
		stacks = append(stacks, strings.Join(names, "<"))
		if s.Label["action"] != nil && s.Label["action"][0] == "post" {
			posts += int(s.Value[0])
			if s.NumLabel["step"][0] != 7 || s.NumLabel["pid"][0] != 10 || s.Label["comm"][0] != "burn" {
				t.Errorf("labels %v %v", s.Label, s.NumLabel)
			}
			if s.Value[1] != s.Value[0]*10_000_000 {
				t.Errorf("cpu value %d for %d samples, want as many periods", s.Value[1], s.Value[0])
			}
		}
		if s.NumLabel["tid"][0] == 11 && s.Value[1] != 12345 {
			t.Errorf("cpu value %d, want the sample's own period", s.Value[1])
		}
	}
	// The three identical samples (same stack and labels) are one.
	want := "burn_three<main burn_one<main ksys_write<write<main JS:*transition /app.js:1:20"
	if got := strings.Join(stacks, " "); got != want {
		t.Errorf("stacks\n got %s\nwant %s", got, want)
	}
	if posts != 3 {
		t.Errorf("%d samples labelled action=post, want 3", posts)
	}
	names := map[string]int{}
	for _, f := range prof.Function {
		names[f.Name]++
	}
	if names["main"] != 1 {
		t.Errorf("function main appears %d times, want once", names["main"])
	}
	var exe *profile.Mapping
	for _, m := range prof.Mapping {
		if m.File == "/usr/bin/burn" {
			exe = m
		}
	}
	if exe == nil || exe.BuildID != "abcd" || !exe.HasFunctions {
		t.Errorf("executable mapping %+v", exe)
	}
	for _, l := range prof.Location {
		if l.Line[0].Function.Name == "ksys_write" && l.Mapping != nil {
			t.Errorf("kernel frame placed in mapping %s", l.Mapping.File)
		}
		if l.Line[0].Function.Name == "write" && (l.Mapping == nil || l.Mapping.File != "/lib/libc.so.6") {
			t.Errorf("libc frame mapping %+v", l.Mapping)
		}
	}
}

func TestFolded(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteFolded(&buf, testProfile()); err != nil {
		t.Fatal(err)
	}
	want := "burn;main;burn_one 1\nburn;main;burn_three 3\nburn;main;write;ksys_write 1\nnode:x;JS:*transition /app.js:1:20 1\n"
	if buf.String() != want {
		t.Errorf("folded:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestSummary(t *testing.T) {
	s := Summarize(testProfile(), 2)
	if s.Samples != 6 || s.Lost != 3 {
		t.Errorf("samples %d lost %d", s.Samples, s.Lost)
	}
	if len(s.BySelf) != 2 || s.BySelf[0].Name != "burn_three" || s.BySelf[0].Self != 3 {
		t.Errorf("by self %+v", s.BySelf)
	}
	if s.ByCum[0].Name != "main" || s.ByCum[0].CumShare != 5.0/6 {
		t.Errorf("by cum %+v", s.ByCum)
	}
	var buf bytes.Buffer
	s.Write(&buf)
	out := buf.String()
	for _, want := range []string{"6 samples in 2.00 s", "3 lost", " 50.0%   50.0%  burn_three", " 83.3%  main"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(path, -1, -1, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return io.ErrUnexpectedEOF
	})
	if err == nil {
		t.Fatal("a failing writer did not fail WriteFile")
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("failed write changed the file to %q", b)
	}
	if err := WriteFile(path, os.Getuid(), os.Getgid(), func(w io.Writer) error {
		_, err := io.WriteString(w, "new")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if string(b) != "new" || fi.Mode().Perm() != 0o644 {
		t.Errorf("file %q mode %v", b, fi.Mode())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestUnnamedFrames(t *testing.T) {
	lib := symbolize.Mapping{Start: 0x7f0000000000, Limit: 0x7f0000100000, Path: "/lib/libx.so"}
	p := &Profile{Freq: 99, Mappings: map[int][]symbolize.Mapping{1: {lib}}, Samples: []Sample{
		{PID: 1, TID: 1, Comm: "x", Stack: []symbolize.Frame{{Addr: 0x1234}, {Addr: 0x7f0000000010, Module: "/lib/libx.so", Kind: symbolize.Native}}},
		{PID: 1, TID: 1, Comm: "x", Stack: []symbolize.Frame{{Addr: 0x1238}, {Addr: 0x7f0000000010, Module: "/lib/libx.so", Kind: symbolize.Native}}},
	}}
	var buf bytes.Buffer
	if err := WriteFolded(&buf, p); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "x;[libx.so];[unknown] 2\n" {
		t.Errorf("folded %q", buf.String())
	}
	if s := Summarize(p, 5); s.BySelf[0].Name != "[unknown]" || s.BySelf[0].Self != 2 {
		t.Errorf("summary %+v", s.BySelf)
	}
	prof := BuildPprof(p)
	if err := prof.CheckValid(); err != nil {
		t.Fatal(err)
	}
	for _, l := range prof.Location {
		if l.Mapping != nil && len(l.Line) != 0 {
			t.Errorf("unnamed address in %s got a function %q", l.Mapping.File, l.Line[0].Function.Name)
		}
		if l.Mapping == nil && (len(l.Line) != 1 || l.Line[0].Function.Name != "[unknown]") {
			t.Errorf("address 0x%x outside mappings: lines %v", l.Address, l.Line)
		}
	}
}

// TestWritePprofMatchesBuild: the directly encoded profile reads back as the
// profile BuildPprof builds, and samples with the same stack and labels are
// one sample holding their sums.
func TestWritePprofMatchesBuild(t *testing.T) {
	p := benchProfile(5000)
	p.Lost = 3
	p.Comments = []string{"command: python3 x.py", "interpreter: CPython 3.11.7"}
	var buf bytes.Buffer
	if err := WritePprof(&buf, p); err != nil {
		t.Fatal(err)
	}
	got, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	want := BuildPprof(p)
	if err := want.CheckValid(); err != nil {
		t.Fatal(err)
	}
	if g, w := got.String(), want.String(); g != w {
		t.Fatalf("written profile differs from the built one:\n%.2000s\nwant\n%.2000s", g, w)
	}
	var n int64
	for _, s := range got.Sample {
		n += s.Value[0]
	}
	if n != 5000 || len(got.Sample) >= 5000 {
		t.Errorf("%d samples counted in %d pprof samples, want 5000 in fewer", n, len(got.Sample))
	}
}

// pprofSampleKey names a sample by what pprof shows of it: its frames
// (function, file, line and address, leaf first) and its labels.
func pprofSampleKey(frames []string, pid, tid int64, comm, action string, step int64) string {
	return fmt.Sprintf("%s pid=%d tid=%d comm=%q action=%q step=%d", strings.Join(frames, "<"), pid, tid, comm, action, step)
}

// wantPprofSamples is what a written profile must hold, worked out from the
// samples themselves: the samples' counts and CPU time summed by stack and
// labels.
func wantPprofSamples(p *Profile) map[string][2]int64 {
	want := map[string][2]int64{}
	for i := range p.Samples {
		s := &p.Samples[i]
		var frames []string
		for _, fr := range s.Stack {
			name, file, line := fr.Name(), fr.File, fr.Line
			if fr.Function == "" {
				name, file, line = "", "", 0
				if fr.Kind == symbolize.Kernel || fr.Kind == symbolize.Python || fr.Kind == symbolize.JS || !inMapping(p.Mappings[s.PID], fr.Addr) {
					name = frameLabel(fr)
				}
			}
			frames = append(frames, fmt.Sprintf("%s@%s:%d#%x", name, file, line, fr.Addr))
		}
		step := int64(s.Step)
		k := pprofSampleKey(frames, int64(s.PID), int64(s.TID), s.Comm, s.Action, step)
		v := want[k]
		v[0] += int64(s.Weight())
		v[1] += p.sampleNanos(s)
		want[k] = v
	}
	return want
}

func inMapping(ms []symbolize.Mapping, addr uint64) bool {
	for _, m := range ms {
		if m.Start <= addr && addr < m.Limit {
			return true
		}
	}
	return false
}

// gotPprofSamples reads a written profile back with profile.Parse and
// names its samples as wantPprofSamples does; a name met twice fails the
// test (samples with the same stack and labels must be one).
func gotPprofSamples(t *testing.T, data []byte) (*profile.Profile, map[string][2]int64) {
	t.Helper()
	prof, err := profile.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := prof.CheckValid(); err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int64{}
	one := func(m map[string][]string, k string) string {
		if len(m[k]) > 1 {
			t.Fatalf("label %s has %d values", k, len(m[k]))
		}
		if len(m[k]) == 0 {
			return ""
		}
		return m[k][0]
	}
	num := func(m map[string][]int64, k string) int64 {
		if len(m[k]) > 1 {
			t.Fatalf("label %s has %d values", k, len(m[k]))
		}
		if len(m[k]) == 0 {
			return 0
		}
		return m[k][0]
	}
	for _, s := range prof.Sample {
		var frames []string
		for _, l := range s.Location {
			name, file, line := "", "", int64(0)
			if len(l.Line) > 1 {
				t.Fatalf("location %d has %d lines", l.ID, len(l.Line))
			}
			if len(l.Line) == 1 {
				name, file, line = l.Line[0].Function.Name, l.Line[0].Function.Filename, l.Line[0].Line
			}
			frames = append(frames, fmt.Sprintf("%s@%s:%d#%x", name, file, line, l.Address))
		}
		k := pprofSampleKey(frames, num(s.NumLabel, "pid"), num(s.NumLabel, "tid"), one(s.Label, "comm"), one(s.Label, "action"), num(s.NumLabel, "step"))
		if _, dup := got[k]; dup {
			t.Fatalf("two samples of %s: samples with the same stack and labels were not made one", k)
		}
		if len(s.Value) != 2 {
			t.Fatalf("sample has %d values", len(s.Value))
		}
		got[k] = [2]int64{s.Value[0], s.Value[1]}
	}
	return prof, got
}

func comparePprofSamples(t *testing.T, got, want map[string][2]int64) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("missing sample %s", k)
		} else if g != w {
			t.Errorf("sample %s: count, cpu %v, want %v", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected sample %s", k)
		}
	}
}

// TestPprofAggregates: many samples of the same stack and labels are one
// pprof sample with their summed count and CPU time, even when each sample
// has its own copy of the stack and the symbolizer handed out equal names
// as different strings; samples differing in any label or frame stay apart.
func TestPprofAggregates(t *testing.T) {
	lib := symbolize.Mapping{Start: 0x7f0000000000, Limit: 0x7f0000100000, Path: "/lib/libx.so", BuildID: "feed"}
	leaf := symbolize.Frame{Function: "work", File: "x.c", Line: 3, Module: lib.Path, Addr: 0x7f0000000100, Kind: symbolize.Native}
	caller := symbolize.Frame{Function: "main", File: "x.c", Line: 9, Module: lib.Path, Addr: 0x7f0000000200, Kind: symbolize.Native}
	py := symbolize.Frame{Function: "transition", File: "/app/x.py", Line: 12, Module: "[python]", Addr: 0x5000, Kind: symbolize.Python}
	kern := symbolize.Frame{Function: "do_syscall_64", Module: "[kernel.kallsyms]", Addr: 0xffffffff81000010, Kind: symbolize.Kernel}
	anon := symbolize.Frame{Addr: 0x7f0000000300, Module: lib.Path, Kind: symbolize.Native}
	p := &Profile{Freq: 997, Mappings: map[int][]symbolize.Mapping{7: {lib}}, Start: time.Unix(1_700_000_000, 0), Duration: time.Second}
	const n = 30000
	for i := range n {
		// A fresh stack each time, as the session makes them; every third
		// sample's names are copies of the same text.
		st := []symbolize.Frame{leaf, py, caller}
		if i%3 == 0 {
			for j := range st {
				st[j].Function, st[j].File = strings.Clone(st[j].Function), strings.Clone(st[j].File)
			}
		}
		s := Sample{Stack: st, PID: 7, TID: 7, Comm: "x", Step: 5, Action: "post"}
		switch i % 10 {
		case 1:
			s.Stack = append([]symbolize.Frame{kern}, st...) // another stack
		case 2:
			s.TID = 8
		case 3:
			s.Step, s.Action = 6, "comment"
		case 4:
			s.Comm = "y"
		case 5:
			s.Step, s.Action = 0, "" // outside any transition
		case 6:
			s.Period = 123 // its own CPU time
		case 7:
			s.Stack = append([]symbolize.Frame{anon}, st...) // an unnamed address
		case 8:
			s.Step, s.Count, s.Period = 0, 4, 4000 // merged samples keep their action
		}
		p.Samples = append(p.Samples, s)
	}
	var buf bytes.Buffer
	if err := WritePprof(&buf, p); err != nil {
		t.Fatal(err)
	}
	prof, got := gotPprofSamples(t, buf.Bytes())
	want := wantPprofSamples(p)
	comparePprofSamples(t, got, want)
	if len(prof.Sample) != 8 {
		t.Errorf("%d pprof samples from %d, want 8", len(prof.Sample), n)
	}
	k := pprofSampleKey([]string{"work@x.c:3#7f0000000100", "transition@/app/x.py:12#5000", "main@x.c:9#7f0000000200"}, 7, 7, "x", "post", 5)
	// Cases 0 and 9 of every ten, and case 6 with its own period.
	if w := [2]int64{3 * n / 10, 2*n/10*1_003_009 + n/10*123}; got[k] != w {
		t.Errorf("the common sample: count, cpu %v, want %v", got[k], w)
	}
	if len(prof.Location) != 5 || len(prof.Function) != 4 {
		t.Errorf("%d locations and %d functions, want 5 and 4 (each once)", len(prof.Location), len(prof.Function))
	}
}

// TestPprofRoundTripLarge: a profile shaped like a traced container reads
// back through profile.Parse with every sample's stack, labels and values,
// summed by stack and labels.
func TestPprofRoundTripLarge(t *testing.T) {
	p := benchProfile(20000)
	var buf bytes.Buffer
	if err := WritePprof(&buf, p); err != nil {
		t.Fatal(err)
	}
	prof, got := gotPprofSamples(t, buf.Bytes())
	comparePprofSamples(t, got, wantPprofSamples(p))
	if prof.Period != 1_001_001 || len(prof.SampleType) != 2 || prof.SampleType[1].Type != "cpu" {
		t.Errorf("period %d, sample types %v", prof.Period, prof.SampleType)
	}
}
