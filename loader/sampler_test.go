package loader

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracer-dev/tracer/internal/privtest"
)

// needPerf skips when the kernel has no perf_event support.
func needPerf(t *testing.T) {
	t.Helper()
	privtest.Require(t, "sampling other processes", CheckPrivilege(), ProbeFeatures(FeaturePerfEvent))
}

// buildBurner compiles testdata/burn.c with gcc into a temporary directory.
func buildBurner(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "burn")
	cmd := exec.Command("gcc", "-O1", "-fno-omit-frame-pointer", "-pthread", "-o", out, "testdata/burn.c")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build burner with gcc (apt-get install gcc): %v\n%s", err, b)
	}
	return out
}

// collectRecords reads records until the channel closes.
func collectRecords(s *Sampler) []Record {
	var recs []Record
	for r := range s.Records() {
		recs = append(recs, r)
	}
	return recs
}

func TestRunGatedSamplesFromExec(t *testing.T) {
	needPerf(t)
	burn := buildBurner(t)
	p, err := StartGated(Command{Path: burn, Args: []string{"burn", "0.4", "7"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenSampler(SamplerConfig{PID: p.PID, Freq: 999, EnableOnExec: true})
	if err != nil {
		p.Abort()
		t.Fatal(err)
	}
	defer s.Close()
	s.Start()
	done := make(chan []Record)
	go func() { done <- collectRecords(s) }()
	if err := p.Release(); err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	s.Stop()
	recs := <-done
	if st.Code != 7 || st.Signal != 0 {
		t.Errorf("exit status = %v, want exited with status 7", st)
	}
	var samples, kernel int
	var sawExec, sawMmap, sawExit bool
	for _, r := range recs {
		switch v := r.(type) {
		case *Sample:
			if v.PID != p.PID {
				t.Errorf("sample from pid %d, want %d", v.PID, p.PID)
			}
			if len(v.User) == 0 && len(v.Kernel) == 0 {
				t.Errorf("sample with an empty callchain: %+v", v)
			}
			if v.Time == 0 {
				t.Error("sample without a time")
			}
			samples++
			if len(v.Kernel) > 0 {
				kernel++
			}
		case *Comm:
			if v.Exec && v.PID == p.PID && v.Name == "burn" {
				sawExec = true
			}
		case *Mmap:
			if v.PID == p.PID && v.Path == burn {
				sawMmap = true
			}
		case *Exit:
			if v.PID == p.PID {
				sawExit = true
			}
		}
	}
	// 0.4 s at 999 Hz: about 400 samples if the burner had a CPU to itself;
	// the frequency ramps up over the first ticks and the machine is shared.
	if samples < 80 {
		t.Errorf("got %d samples, want at least 80", samples)
	}
	if !sawExec || !sawMmap || !sawExit {
		t.Errorf("side-band records: exec comm %v, mmap of %s %v, exit %v", sawExec, burn, sawMmap, sawExit)
	}
	if got := s.Stats().Samples; got != uint64(samples) {
		t.Errorf("Stats().Samples = %d, records hold %d", got, samples)
	}
	now := monotonicNow()
	for _, r := range recs {
		if tm := r.RecordTime(); tm > now || now-tm > uint64(time.Minute) {
			t.Fatalf("record time %d is not CLOCK_MONOTONIC near %d", tm, now)
		}
	}
}

func TestAttachFollowsExistingThreads(t *testing.T) {
	needPerf(t)
	burn := buildBurner(t)
	cmd := exec.Command(burn, "3", "0", "3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	var tids []int
	for range 100 { // the burner starts its threads right away
		tids, _ = Threads(cmd.Process.Pid)
		if len(tids) == 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(tids) != 3 {
		t.Fatalf("burner has threads %v, want 3", tids)
	}
	s, err := OpenSampler(SamplerConfig{PID: cmd.Process.Pid, Freq: 499, Threads: tids})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Start()
	done := make(chan []Record)
	go func() { done <- collectRecords(s) }()
	time.Sleep(500 * time.Millisecond)
	s.Stop()
	seen := map[int]int{}
	for _, r := range <-done {
		if v, ok := r.(*Sample); ok {
			seen[v.TID]++
		}
	}
	for _, tid := range tids {
		if seen[tid] == 0 {
			t.Errorf("no samples from thread %d (saw %v)", tid, seen)
		}
	}
}

func TestStartGatedExecFailure(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "bad")
	// Executable bit, but no interpreter line and not ELF: execve fails.
	if err := os.WriteFile(script, []byte{0x7f, 'X', 0, 0}, 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := StartGated(Command{Path: script, Args: []string{"bad"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Release(); err == nil {
		t.Error("Release succeeded for a file that cannot be executed")
	}
	st, _ := p.Wait()
	if st.Code != 127 {
		t.Errorf("shim exit status = %v, want 127", st)
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "mycmd")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/nonexistent:" + dir}
	if got, err := LookPath("mycmd", env); err != nil || got != exe {
		t.Errorf("LookPath(mycmd) = %q, %v; want %q", got, err, exe)
	}
	if _, err := LookPath("no-such-command-here", env); err == nil {
		t.Error("LookPath found a command that does not exist")
	}
	if _, err := LookPath(dir, env); err == nil {
		t.Error("LookPath accepted a directory")
	}
}

func TestSplitCallchain(t *testing.T) {
	chain := []uint64{contextKernel, 0xffffffff81000010, 0xffffffff81000020, contextUser, 0x401000, 0x401100}
	user, kernel := splitCallchain(chain)
	if !slices.Equal(user, []uint64{0x401000, 0x401100}) || !slices.Equal(kernel, []uint64{0xffffffff81000010, 0xffffffff81000020}) {
		t.Errorf("split = user %x kernel %x", user, kernel)
	}
}

func TestParseCPUList(t *testing.T) {
	for in, want := range map[string][]int{"0": {0}, "0-3": {0, 1, 2, 3}, "0-1,4,6-7": {0, 1, 4, 6, 7}} {
		got, err := parseCPUList(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("parseCPUList(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseCPUList("x"); err == nil {
		t.Error("parseCPUList(x) accepted")
	}
}

func TestCapEff(t *testing.T) {
	root, err := capEff("Name:\tx\nCapEff:\t000001ffffffffff\n")
	if err != nil || !hasPrivilege(root) {
		t.Errorf("full caps: %x %v", root, err)
	}
	if hasPrivilege(0) {
		t.Error("no caps accepted")
	}
	if !hasPrivilege(1<<capPerfmon | 1<<capBPF | 1<<capSysPtrace) {
		t.Error("CAP_PERFMON+CAP_BPF+CAP_SYS_PTRACE refused")
	}
	if hasPrivilege(1<<capPerfmon | 1<<capBPF) {
		t.Error("missing CAP_SYS_PTRACE accepted")
	}
}

func TestStartGatedAsUser(t *testing.T) {
	privtest.Root(t, "changing user")
	cred, err := ResolveUser("nobody")
	privtest.Require(t, "the user nobody", err)
	out, err := os.CreateTemp(t.TempDir(), "id")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	p, err := StartGated(Command{Path: "/usr/bin/id", Args: []string{"id", "-u"}, Stdout: out, Cred: cred})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Release(); err != nil {
		t.Fatal(err)
	}
	if st, err := p.Wait(); err != nil || st.Code != 0 {
		t.Fatalf("id: %v %v", st, err)
	}
	b, _ := os.ReadFile(out.Name())
	if got := strings.TrimSpace(string(b)); got != "65534" {
		t.Errorf("command ran as uid %q, want 65534 (nobody)", got)
	}
}

func TestLostRecordsAreCounted(t *testing.T) {
	needPerf(t)
	cmd := exec.Command(buildBurner(t), "2", "0", "2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	time.Sleep(50 * time.Millisecond)
	tids, err := Threads(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	// One page per CPU at 10 kHz, not read for a while: the rings overflow.
	s, err := OpenSampler(SamplerConfig{PID: cmd.Process.Pid, Freq: MaxFreq, Threads: tids, RingPages: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	time.Sleep(300 * time.Millisecond)
	s.Start()
	done := make(chan []Record)
	go func() { done <- collectRecords(s) }()
	time.Sleep(300 * time.Millisecond)
	s.Stop()
	var lost uint64
	for _, r := range <-done {
		if l, ok := r.(*Lost); ok {
			lost += l.Count
		}
	}
	if lost == 0 || s.Stats().Lost != lost {
		t.Errorf("lost records: %d in records, Stats says %d; want the same, above 0", lost, s.Stats().Lost)
	}
}
