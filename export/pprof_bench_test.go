package export

import (
	"fmt"
	"io"
	"testing"

	"github.com/tracer-dev/tracer/symbolize"
)

// BenchmarkWritePprof builds and writes a profile of 100k samples over 2000
// distinct stacks of depth 12, about a minute of 999 Hz sampling on 2 CPUs.
func BenchmarkWritePprof(b *testing.B) {
	frames := make([]symbolize.Frame, 500)
	for i := range frames {
		frames[i] = symbolize.Frame{Function: fmt.Sprintf("fn%d", i), File: "x.c", Line: i, Module: "/bin/x", Addr: 0x400000 + uint64(i)*16, Kind: symbolize.Native}
	}
	p := &Profile{Freq: 999, Mappings: map[int][]symbolize.Mapping{1: {{Start: 0x400000, Limit: 0x500000, Path: "/bin/x"}}}}
	for i := 0; i < 100000; i++ {
		st := make([]symbolize.Frame, 12)
		for j := range st {
			st[j] = frames[(i%2000*7+j*13)%len(frames)]
		}
		p.Samples = append(p.Samples, Sample{Stack: st, PID: 1, TID: 1 + i%4, Comm: "x", Step: uint64(i / 10), Action: "post"})
	}
	b.ResetTimer()
	for range b.N {
		if err := WritePprof(io.Discard, p); err != nil {
			b.Fatal(err)
		}
	}
}
