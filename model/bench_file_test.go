package model

import (
	"os"
	"testing"
)

// BenchmarkCheckFile checks the trace named by TRACER_BENCH_TRACE (skipped
// when unset), e.g. the container traces bench/footprint.sh writes, with the
// relation named by TRACER_BENCH_RELATION (exact unless "bisim"). With
// -cpuprofile it shows where `tracer check` spends its time on a real trace;
// falls/op counts the lines the fast path left to the decoder.
func BenchmarkCheckFile(b *testing.B) {
	name := os.Getenv("TRACER_BENCH_TRACE")
	if name == "" {
		b.Skip("TRACER_BENCH_TRACE names no trace")
	}
	rel := Exact
	if os.Getenv("TRACER_BENCH_RELATION") == "bisim" {
		rel = Bisim
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		f, err := os.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		res, falls, err := checkLines(NewDecoder(f, name), rel)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Checked), "steps")
		b.ReportMetric(float64(falls), "falls")
	}
}
