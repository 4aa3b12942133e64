package export

import (
	"fmt"
	"io"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/tracer-dev/tracer/symbolize"
)

// benchProfile builds a profile shaped like a traced container: n samples
// from 4 threads at 999 Hz, each labelled with the step running at the time,
// with stacks 8 to 40 frames deep (kernel frames, then interpreter and Python
// frames over 2600 distinct locations). Stacks come from a pool of 20000
// distinct ones, a few of them hot (Zipf), as a real workload repeats itself.
func benchProfile(n int) *Profile {
	const pid = 4242
	r := rand.New(rand.NewPCG(1, 2))
	lib := symbolize.Mapping{Start: 0x7f0000000000, Limit: 0x7f0000400000, Path: "/usr/lib/libpython3.11.so.1.0", BuildID: "5d1f0c9e"}
	exe := symbolize.Mapping{Start: 0x400000, Limit: 0x500000, Path: "/usr/bin/python3.11", BuildID: "a1b2c3d4"}
	var native, python, kernel []symbolize.Frame
	for i := range 1500 {
		native = append(native, symbolize.Frame{Function: fmt.Sprintf("_Py_func_%d", i%600), File: "Python/ceval.c", Line: 100 + i,
			Module: lib.Path, Addr: lib.Start + uint64(i)*0x40, Kind: symbolize.Native})
	}
	for i := range 800 {
		python = append(python, symbolize.Frame{Function: fmt.Sprintf("transition_%d", i%200), File: "examples/python_container.py", Line: 10 + i,
			Kind: symbolize.Python})
	}
	for i := range 300 {
		kernel = append(kernel, symbolize.Frame{Function: fmt.Sprintf("kfunc_%d", i), Module: "[kernel.kallsyms]",
			Addr: 0xffffffff81000000 + uint64(i)*0x80, Kind: symbolize.Kernel})
	}
	actions := []string{"register", "post", "comment", "distribute"}
	p := &Profile{
		Mappings: map[int][]symbolize.Mapping{pid: {exe, lib}},
		Freq:     999,
		Start:    time.Unix(1_700_000_000, 0),
		Duration: time.Duration(n) * time.Second / 999 / 4,
	}
	pool := make([][]symbolize.Frame, 20000)
	for i := range pool {
		depth := 8 + r.IntN(33)
		stack := make([]symbolize.Frame, 0, depth)
		for range r.IntN(4) {
			stack = append(stack, kernel[r.IntN(len(kernel))])
		}
		for len(stack) < depth {
			if r.IntN(3) == 0 {
				stack = append(stack, python[r.IntN(len(python))])
			} else {
				stack = append(stack, native[r.IntN(len(native))])
			}
		}
		pool[i] = stack
	}
	zipf := rand.NewZipf(rand.New(rand.NewPCG(3, 4)), 1.1, 1, uint64(len(pool)-1))
	p.Samples = make([]Sample, n)
	for i := range p.Samples {
		step := uint64(i/50 + 1)
		p.Samples[i] = Sample{Stack: pool[zipf.Uint64()], PID: pid, TID: pid + i%4, Comm: "python3", Period: 1_001_001,
			Step: step, Action: actions[step%4]}
	}
	return p
}

// BenchmarkWritePprof1M builds, aggregates, encodes, gzips and writes the
// pprof profile of one million samples: the export time quoted in
// docs/performance.md (s/op is the time for 1 M samples, cpu-s/op the
// process's CPU time for them). The samples share the pool's stack arrays,
// where a session gives each sample its own: the writer compares stacks
// frame by frame all the same.
func BenchmarkWritePprof1M(b *testing.B) {
	const n = 1_000_000
	p := benchProfile(n)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if err := WritePprof(io.Discard, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	// On a shared machine the CPU time is the steadier figure.
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the user+system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBenchProfileExports keeps the benchmark's profile honest: it exports
// and its samples keep their labels and stacks.
func TestBenchProfileExports(t *testing.T) {
	p := benchProfile(2000)
	prof := BuildPprof(p)
	if err := prof.CheckValid(); err != nil {
		t.Fatal(err)
	}
	if len(prof.Sample) == 0 || len(prof.Sample) > 2000 {
		t.Fatalf("%d pprof samples from 2000", len(prof.Sample))
	}
	var total int64
	steps := map[int64]bool{}
	for _, s := range prof.Sample {
		total += s.Value[0]
		if len(s.Label["action"]) != 1 || len(s.NumLabel["step"]) != 1 || len(s.Location) < 8 {
			t.Fatalf("sample lacks labels or frames: %v %v %d", s.Label, s.NumLabel, len(s.Location))
		}
		steps[s.NumLabel["step"][0]] = true
	}
	if total != 2000 || len(steps) != 40 {
		t.Errorf("%d samples counted over %d steps, want 2000 over 40", total, len(steps))
	}
}
