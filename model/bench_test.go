package model

import (
	"bytes"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the user+system CPU time of this process so far. On a shared
// machine, steps per CPU second is steadier than steps per wall second.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCheckTrace checks a generated 300k-step trace from memory as
// `tracer check` does (the fast path, one goroutine); the steps/s metric is
// the figure quoted in docs/trace-format.md.
func BenchmarkCheckTrace(b *testing.B) {
	const steps = 300_000
	trace := genTrace(steps, 1)
	for _, rel := range []Relation{Exact, Bisim} {
		b.Run(rel.String(), func(b *testing.B) {
			b.SetBytes(int64(len(trace)))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				res, err := CheckTrace(NewDecoder(bytes.NewReader(trace), "bench"), rel)
				if err != nil || !res.Conforming() || res.Checked != steps {
					b.Fatalf("%v %+v", err, res)
				}
			}
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(steps)*float64(b.N)/b.Elapsed().Seconds(), "steps/s")
			if cpu > 0 {
				b.ReportMetric(float64(steps)*float64(b.N)/cpu.Seconds(), "steps/cpu-s")
			}
		})
	}
}

// BenchmarkCheckTraceDecoder is BenchmarkCheckTrace/exact through the
// decoder and Checker.Feed alone, without the check's fast path: what every
// line would cost if the fast path left it.
func BenchmarkCheckTraceDecoder(b *testing.B) {
	const steps = 300_000
	trace := genTrace(steps, 1)
	b.SetBytes(int64(len(trace)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		d := NewDecoder(bytes.NewReader(trace), "bench")
		res, err := checkSource(d, &plainSource{d: d}, Exact)
		if err != nil || !res.Conforming() || res.Checked != steps {
			b.Fatalf("%v %+v", err, res)
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(steps)*float64(b.N)/b.Elapsed().Seconds(), "steps/s")
	b.ReportMetric(float64(steps)*float64(b.N)/cpu.Seconds(), "steps/cpu-s")
}

// BenchmarkCheckPair checks the generated trace against itself.
func BenchmarkCheckPair(b *testing.B) {
	const steps = 300_000
	trace := genTrace(steps, 1)
	b.SetBytes(2 * int64(len(trace)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := CheckPair(NewDecoder(bytes.NewReader(trace), "a"), NewDecoder(bytes.NewReader(trace), "b"), Exact)
		if err != nil || !res.Conforming() {
			b.Fatalf("%v %+v", err, res)
		}
	}
	b.ReportMetric(float64(steps)*float64(b.N)/b.Elapsed().Seconds(), "steps/s")
}

// BenchmarkDecodeRecord decodes one typical step line.
func BenchmarkDecodeRecord(b *testing.B) {
	line := []byte(stepLine)
	var p parser
	var rec Record
	b.SetBytes(int64(len(line)))
	for i := 0; i < b.N; i++ {
		if err := decodeInto(&p, line, &rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckSpellings checks a generated 100 000-step trace from memory
// in the compact spelling and as Python's json.dumps writes it (", " and
// ": ", non-ASCII as \u escapes), under each relation, as `tracer check`
// does: ns/step is the wall time per step, cpu-ns/step the process's CPU
// time per step, falls the lines the fast path left to the decoder.
func BenchmarkCheckSpellings(b *testing.B) {
	const steps = 100_000
	compact := genTrace(steps, 1)
	for _, sp := range []struct {
		name  string
		trace []byte
	}{{"compact", compact}, {"json.dumps", respell(compact, spelling{dumps: true})}} {
		for _, rel := range []Relation{Exact, Bisim} {
			b.Run(sp.name+"/"+rel.String(), func(b *testing.B) {
				b.SetBytes(int64(len(sp.trace)))
				b.ReportAllocs()
				falls := 0
				cpu0 := cpuTime()
				for i := 0; i < b.N; i++ {
					res, n, err := checkLines(NewDecoder(bytes.NewReader(sp.trace), "bench"), rel)
					if err != nil || !res.Conforming() || res.Checked != steps {
						b.Fatalf("%v %+v", err, res)
					}
					falls += n
				}
				cpu := cpuTime() - cpu0
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(steps*b.N), "ns/step")
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(steps*b.N), "cpu-ns/step")
				b.ReportMetric(float64(falls)/float64(b.N), "falls")
			})
		}
	}
}
