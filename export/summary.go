package export

import (
	"fmt"
	"io"
	"sort"
	"time"
)

// FuncShare is one function's share of the samples.
type FuncShare struct {
	Name      string
	Self, Cum int     // samples with the function as leaf / anywhere on the stack
	SelfShare float64 // Self / total samples
	CumShare  float64 // Cum / total samples
}

// Summary is the terminal report of a profile.
type Summary struct {
	Samples  int
	Lost     uint64
	Duration time.Duration
	Freq     int
	BySelf   []FuncShare // the top functions by self share
	ByCum    []FuncShare // the top functions by cumulative share
}

// Summarize ranks functions by self and by cumulative share, keeping the
// top n of each.
func Summarize(p *Profile, n int) Summary {
	self := map[string]int{}
	cum := map[string]int{}
	seen := map[string]bool{}
	total := 0
	for i := range p.Samples {
		st := p.Samples[i].Stack
		n := p.Samples[i].Weight()
		total += n
		if len(st) == 0 {
			self["[unknown]"] += n
			cum["[unknown]"] += n
			continue
		}
		self[frameLabel(st[0])] += n
		clear(seen)
		for _, fr := range st {
			name := frameLabel(fr)
			if !seen[name] {
				seen[name] = true
				cum[name] += n
			}
		}
	}
	all := make([]FuncShare, 0, len(cum))
	for name, c := range cum {
		fs := FuncShare{Name: name, Self: self[name], Cum: c}
		if total > 0 {
			fs.SelfShare = float64(fs.Self) / float64(total)
			fs.CumShare = float64(fs.Cum) / float64(total)
		}
		all = append(all, fs)
	}
	s := Summary{Samples: total, Lost: p.Lost, Duration: p.Duration, Freq: p.Freq}
	s.BySelf = topBy(all, n, func(f FuncShare) int { return f.Self })
	s.ByCum = topBy(all, n, func(f FuncShare) int { return f.Cum })
	return s
}

func topBy(all []FuncShare, n int, key func(FuncShare) int) []FuncShare {
	out := append([]FuncShare(nil), all...)
	sort.Slice(out, func(i, j int) bool {
		if ki, kj := key(out[i]), key(out[j]); ki != kj {
			return ki > kj
		}
		return out[i].Name < out[j].Name
	})
	for len(out) > 0 && key(out[len(out)-1]) == 0 {
		out = out[:len(out)-1]
	}
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// Write prints the summary as two small tables.
func (s Summary) Write(w io.Writer) error {
	rate := 0.0
	if s.Duration > 0 {
		rate = float64(s.Samples) / s.Duration.Seconds()
	}
	fmt.Fprintf(w, "%d samples in %.2f s (%.0f/s at %d Hz), %d lost\n",
		s.Samples, s.Duration.Seconds(), rate, s.Freq, s.Lost)
	if s.Samples == 0 {
		_, err := fmt.Fprintln(w, "no samples: the process used no CPU while it was traced")
		return err
	}
	table := func(title string, rows []FuncShare) {
		fmt.Fprintf(w, "%s\n   self%%    cum%%  function\n", title)
		for _, r := range rows {
			fmt.Fprintf(w, "  %5.1f%%  %5.1f%%  %s\n", 100*r.SelfShare, 100*r.CumShare, r.Name)
		}
	}
	table("top functions by self time", s.BySelf)
	table("top functions by cumulative time", s.ByCum)
	return nil
}
