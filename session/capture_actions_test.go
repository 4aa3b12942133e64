package session

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// exactQuantile is the nearest-rank q-quantile of sorted values.
func exactQuantile(sorted []uint64, q float64) uint64 {
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// TestDurationsQuantiles: the histogram's count, mean, min and max are
// exact, and its p50 and p99 are within 1 % of the exact nearest-rank
// quantiles, for durations from nanoseconds to seconds.
func TestDurationsQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name string
		n    int
		draw func() uint64
	}{
		{"one", 1, func() uint64 { return 12_345 }},
		{"two", 2, func() uint64 { return uint64(rng.IntN(1_000_000)) }},
		{"tiny exact", 1000, func() uint64 { return uint64(rng.IntN(128)) }},
		{"uniform µs", 100_000, func() uint64 { return 1_000 + uint64(rng.IntN(100_000)) }},
		{"log-normal", 200_000, func() uint64 { return uint64(math.Exp(10 + 2*rng.NormFloat64())) }},
		{"bimodal with tail", 50_000, func() uint64 {
			switch r := rng.IntN(100); {
			case r < 60:
				return 20_000 + uint64(rng.IntN(2_000))
			case r < 98:
				return 50_000 + uint64(rng.IntN(5_000))
			default:
				return 3_000_000_000 + uint64(rng.IntN(1_000_000_000))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d durations
			vals := make([]uint64, tc.n)
			var sum float64
			for i := range vals {
				vals[i] = tc.draw()
				sum += float64(vals[i])
				d.add(vals[i])
			}
			slices.Sort(vals)
			if d.count != uint64(tc.n) || d.min != vals[0] || d.max != vals[tc.n-1] || d.mean() != uint64(sum/float64(tc.n)) {
				t.Fatalf("count %d min %d max %d mean %d, want %d %d %d %d", d.count, d.min, d.max, d.mean(), tc.n, vals[0], vals[tc.n-1], uint64(sum/float64(tc.n)))
			}
			for _, q := range []float64{0, 0.01, 0.5, 0.9, 0.99, 0.999, 1} {
				got, want := d.quantile(q), exactQuantile(vals, q)
				if math.Abs(float64(got)-float64(want)) > 0.01*float64(want) {
					t.Errorf("q%.3f = %d, want %d (within 1 %%)", q, got, want)
				}
			}
		})
	}
}

// TestHistBuckets: bucket indexes grow with the value, every value lies
// within 0.8 % of its bucket's middle, and the largest value fits.
func TestHistBuckets(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 1 << 20, 1<<20 + 1, 123_456_789, 1 << 40, math.MaxUint64} {
		i := histIndex(v)
		if i < prev || i >= histBuckets {
			t.Fatalf("index of %d is %d (previous %d, %d buckets)", v, i, prev, histBuckets)
		}
		prev = i
		m := histMiddle(i)
		if math.Abs(float64(m)-float64(v)) > float64(v)/128+0.5 {
			t.Errorf("%d is in bucket %d whose middle is %d", v, i, m)
		}
	}
	for v := uint64(1); v < 1<<62; v = v*3 + 1 {
		if i := histIndex(v); histIndex(histMiddle(i)) != i {
			t.Fatalf("the middle of bucket %d (%d) is not in it", i, histMiddle(i))
		}
	}
}
