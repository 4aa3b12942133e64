package export

import (
	"fmt"
	"io"
	"sort"

	"github.com/google/pprof/profile"
	"github.com/tracer-dev/tracer/symbolize"
)

// BuildPprof turns p into a pprof profile with two sample values,
// samples/count and cpu/nanoseconds; the period is 1/Freq seconds. Samples
// carry the string labels comm and action and the numeric labels pid, tid
// and step, so `go tool pprof -tagfocus action=post` selects a transition.
// Mappings carry build IDs; functions are shared by name and file.
func BuildPprof(p *Profile) *profile.Profile {
	b := newPprofBuilder(p)
	for i := range p.Samples {
		b.add(&p.Samples[i])
	}
	return b.prof
}

// WritePprof writes p as a gzipped pprof profile.
func WritePprof(w io.Writer, p *Profile) error {
	prof := BuildPprof(p)
	if err := prof.CheckValid(); err != nil {
		return fmt.Errorf("build pprof profile: %w", err)
	}
	if err := prof.Write(w); err != nil {
		return fmt.Errorf("write pprof profile: %w", err)
	}
	return nil
}

type pprofBuilder struct {
	src  *Profile
	prof *profile.Profile

	mappings  map[mappingKey]*profile.Mapping
	byPID     map[int][]*profile.Mapping // sorted by start, as in src.Mappings
	functions map[funcKey]*profile.Function
	locations map[locKey]*profile.Location
}

type mappingKey struct {
	start, limit, offset uint64
	path, buildID        string
}

type funcKey struct{ name, file string }

type locKey struct {
	mapping uint64
	addr    uint64
	name    string
	file    string
	line    int
}

func newPprofBuilder(p *Profile) *pprofBuilder {
	b := &pprofBuilder{
		src: p,
		prof: &profile.Profile{
			SampleType: []*profile.ValueType{
				{Type: "samples", Unit: "count"},
				{Type: "cpu", Unit: "nanoseconds"},
			},
			PeriodType:    &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
			Period:        p.period(),
			DurationNanos: p.Duration.Nanoseconds(),
		},
		mappings:  map[mappingKey]*profile.Mapping{},
		byPID:     map[int][]*profile.Mapping{},
		functions: map[funcKey]*profile.Function{},
		locations: map[locKey]*profile.Location{},
	}
	if !p.Start.IsZero() {
		b.prof.TimeNanos = p.Start.UnixNano()
	}
	if p.Lost > 0 {
		b.prof.Comments = append(b.prof.Comments, fmt.Sprintf("lost records: %d", p.Lost))
	}
	b.prof.Comments = append(b.prof.Comments, p.Comments...)
	for pid, ms := range p.Mappings {
		for _, m := range ms {
			b.byPID[pid] = append(b.byPID[pid], b.mapping(m))
		}
		ms := b.byPID[pid]
		sort.Slice(ms, func(i, j int) bool { return ms[i].Start < ms[j].Start })
	}
	return b
}

func (b *pprofBuilder) mapping(m symbolize.Mapping) *profile.Mapping {
	k := mappingKey{m.Start, m.Limit, m.Offset, m.Path, m.BuildID}
	if pm, ok := b.mappings[k]; ok {
		return pm
	}
	pm := &profile.Mapping{
		ID:      uint64(len(b.prof.Mapping) + 1),
		Start:   m.Start,
		Limit:   m.Limit,
		Offset:  m.Offset,
		File:    m.Path,
		BuildID: m.BuildID,
	}
	b.prof.Mapping = append(b.prof.Mapping, pm)
	b.mappings[k] = pm
	return pm
}

// mappingOf finds the mapping of pid that holds addr.
func (b *pprofBuilder) mappingOf(pid int, addr uint64) *profile.Mapping {
	ms := b.byPID[pid]
	i := sort.Search(len(ms), func(i int) bool { return ms[i].Limit > addr })
	if i < len(ms) && ms[i].Start <= addr {
		return ms[i]
	}
	return nil
}

func (b *pprofBuilder) function(name, file string) *profile.Function {
	k := funcKey{name, file}
	if f, ok := b.functions[k]; ok {
		return f
	}
	f := &profile.Function{ID: uint64(len(b.prof.Function) + 1), Name: name, SystemName: name, Filename: file}
	b.prof.Function = append(b.prof.Function, f)
	b.functions[k] = f
	return f
}

func (b *pprofBuilder) location(pid int, fr symbolize.Frame) *profile.Location {
	var m *profile.Mapping
	if fr.Kind != symbolize.Kernel && fr.Kind != symbolize.Python && fr.Kind != symbolize.JS {
		m = b.mappingOf(pid, fr.Addr)
	}
	var mid uint64
	if m != nil {
		mid = m.ID
	}
	name := fr.Name()
	k := locKey{mid, fr.Addr, name, fr.File, fr.Line}
	if l, ok := b.locations[k]; ok {
		return l
	}
	l := &profile.Location{
		ID:      uint64(len(b.prof.Location) + 1),
		Mapping: m,
		Address: fr.Addr,
	}
	if fr.Function != "" {
		fn := b.function(name, fr.File)
		if fr.Kind == symbolize.Python {
			// A system name unlike the name tells pprof the name is final:
			// otherwise it takes "<module>" for a C++ template and
			// strips it to nothing.
			fn.SystemName = "python:" + name
		}
		if fr.Kind == symbolize.JS {
			fn.SystemName = "js:" + name
		}
		l.Line = []profile.Line{{Function: fn, Line: int64(fr.Line)}}
	} else if m == nil {
		// An address in no known mapping: name it, or pprof shows nothing.
		l.Line = []profile.Line{{Function: b.function(frameLabel(fr), "")}}
	}
	if m != nil && fr.Function != "" {
		m.HasFunctions = true
		if fr.File != "" {
			m.HasFilenames = true
		}
		if fr.Line > 0 {
			m.HasLineNumbers = true
		}
	}
	b.prof.Location = append(b.prof.Location, l)
	b.locations[k] = l
	return l
}

func (b *pprofBuilder) add(s *Sample) {
	ps := &profile.Sample{
		Value:    []int64{int64(s.Weight()), b.src.sampleNanos(s)},
		Label:    map[string][]string{},
		NumLabel: map[string][]int64{"pid": {int64(s.PID)}, "tid": {int64(s.TID)}},
	}
	if s.Comm != "" {
		ps.Label["comm"] = []string{s.Comm}
	}
	if s.Step > 0 {
		ps.NumLabel["step"] = []int64{int64(s.Step)}
	}
	if s.Action != "" { // merged samples (Count) keep their action, not their step
		ps.Label["action"] = []string{s.Action}
	}
	for _, fr := range s.Stack {
		ps.Location = append(ps.Location, b.location(s.PID, fr))
	}
	b.prof.Sample = append(b.prof.Sample, ps)
}
