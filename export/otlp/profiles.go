package otlp

import (
	"maps"
	"slices"
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/symbolize"
)

// scopeName names tracer as the instrumentation scope of what it sends.
const scopeName = "github.com/tracer-dev/tracer"

// BuildProfiles turns p into OTLP profiles: one resource per process, each
// with one profile of sample type samples/count and period cpu/nanoseconds.
// Every sample carries the attributes thread.id and, when it ran in a
// transition, step (int) and action (string); thread.name is the command
// name. Locations are leaf first, as in pprof; each has one line with its
// function, file and line number, and the attribute profile.frame.type
// (native, kernel, jit, cpython).
func BuildProfiles(p *export.Profile, r *Resource, version string) pprofile.Profiles {
	b := newProfilesBuilder()
	byPID := map[int][]int{}
	for i := range p.Samples {
		byPID[p.Samples[i].PID] = append(byPID[p.Samples[i].PID], i)
	}
	for _, pid := range slices.Sorted(maps.Keys(byPID)) {
		rp := b.out.ResourceProfiles().AppendEmpty()
		proc := p.Processes[pid]
		proc.PID = pid
		r.fill(rp.Resource(), proc)
		sp := rp.ScopeProfiles().AppendEmpty()
		sp.Scope().SetName(scopeName)
		sp.Scope().SetVersion(version)
		prof := sp.Profiles().AppendEmpty()
		b.profile(prof, p, pid, byPID[pid])
	}
	return b.out
}

type profilesBuilder struct {
	out  pprofile.Profiles
	dict pprofile.ProfilesDictionary

	strs      map[string]int32
	attrs     map[attrKey]int32
	funcs     map[funcKey]int32
	mappings  map[symbolize.Mapping]int32
	locations map[locKey]int32
	stacks    map[string]int32
	byPID     map[int][]mappingIndex // sorted by start
	stackKey  []byte
	locs      []int32
}

type attrKey struct {
	key  string
	str  string
	num  int64
	isNu bool
}

type funcKey struct{ name, system, file string }

type locKey struct {
	mapping int32
	addr    uint64
	fn      int32
	line    int64
	kind    symbolize.FrameKind
}

type mappingIndex struct {
	start, limit uint64
	idx          int32
}

func newProfilesBuilder() *profilesBuilder {
	out := pprofile.NewProfiles()
	b := &profilesBuilder{
		out: out, dict: out.Dictionary(),
		strs: map[string]int32{}, attrs: map[attrKey]int32{}, funcs: map[funcKey]int32{},
		mappings: map[symbolize.Mapping]int32{}, locations: map[locKey]int32{}, stacks: map[string]int32{},
		byPID: map[int][]mappingIndex{},
	}
	// Index 0 of every table is the zero value, as the protocol asks.
	b.str("")
	b.dict.MappingTable().AppendEmpty()
	b.dict.LocationTable().AppendEmpty()
	b.dict.FunctionTable().AppendEmpty()
	b.dict.LinkTable().AppendEmpty()
	b.dict.AttributeTable().AppendEmpty()
	b.dict.StackTable().AppendEmpty()
	return b
}

func (b *profilesBuilder) str(s string) int32 {
	if i, ok := b.strs[s]; ok {
		return i
	}
	i := int32(b.dict.StringTable().Len())
	b.dict.StringTable().Append(s)
	b.strs[s] = i
	return i
}

func (b *profilesBuilder) attrStr(key, val string) int32 {
	k := attrKey{key: key, str: val}
	if i, ok := b.attrs[k]; ok {
		return i
	}
	i := int32(b.dict.AttributeTable().Len())
	a := b.dict.AttributeTable().AppendEmpty()
	a.SetKeyStrindex(b.str(key))
	a.Value().SetStr(val)
	b.attrs[k] = i
	return i
}

func (b *profilesBuilder) attrInt(key string, val int64) int32 {
	k := attrKey{key: key, num: val, isNu: true}
	if i, ok := b.attrs[k]; ok {
		return i
	}
	i := int32(b.dict.AttributeTable().Len())
	a := b.dict.AttributeTable().AppendEmpty()
	a.SetKeyStrindex(b.str(key))
	a.Value().SetInt(val)
	b.attrs[k] = i
	return i
}

func (b *profilesBuilder) function(name, system, file string) int32 {
	k := funcKey{name, system, file}
	if i, ok := b.funcs[k]; ok {
		return i
	}
	i := int32(b.dict.FunctionTable().Len())
	f := b.dict.FunctionTable().AppendEmpty()
	f.SetNameStrindex(b.str(name))
	f.SetSystemNameStrindex(b.str(system))
	f.SetFilenameStrindex(b.str(file))
	b.funcs[k] = i
	return i
}

// mappingsOf indexes the mappings of pid (once per pid).
func (b *profilesBuilder) mappingsOf(p *export.Profile, pid int) []mappingIndex {
	if ms, ok := b.byPID[pid]; ok {
		return ms
	}
	var ms []mappingIndex
	for _, m := range p.Mappings[pid] {
		i, ok := b.mappings[m]
		if !ok {
			i = int32(b.dict.MappingTable().Len())
			pm := b.dict.MappingTable().AppendEmpty()
			pm.SetMemoryStart(m.Start)
			pm.SetMemoryLimit(m.Limit)
			pm.SetFileOffset(m.Offset)
			pm.SetFilenameStrindex(b.str(m.Path))
			if m.BuildID != "" {
				pm.AttributeIndices().Append(b.attrStr("process.executable.build_id.gnu", m.BuildID))
			}
			b.mappings[m] = i
		}
		ms = append(ms, mappingIndex{m.Start, m.Limit, i})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].start < ms[j].start })
	b.byPID[pid] = ms
	return ms
}

func mappingAt(ms []mappingIndex, addr uint64) int32 {
	i := sort.Search(len(ms), func(i int) bool { return ms[i].limit > addr })
	if i < len(ms) && ms[i].start <= addr {
		return ms[i].idx
	}
	return 0
}

// frameType is the profile.frame.type of a frame kind, in the names the
// OpenTelemetry profiling semantic conventions use.
func frameType(k symbolize.FrameKind) string {
	switch k {
	case symbolize.Python:
		return "cpython"
	case symbolize.Kernel:
		return "kernel"
	case symbolize.JIT:
		return "jit"
	}
	return "native"
}

func (b *profilesBuilder) location(ms []mappingIndex, fr symbolize.Frame) int32 {
	var mi int32
	if fr.Kind != symbolize.Kernel && fr.Kind != symbolize.Python {
		mi = mappingAt(ms, fr.Addr)
	}
	var fn int32
	if fr.Function != "" {
		system := fr.Function
		if fr.Kind == symbolize.Python {
			system = "python:" + fr.Function
		}
		fn = b.function(fr.Function, system, fr.File)
	} else if mi == 0 {
		name := fr.Name()
		fn = b.function(name, name, "")
	}
	k := locKey{mi, fr.Addr, fn, int64(fr.Line), fr.Kind}
	if i, ok := b.locations[k]; ok {
		return i
	}
	i := int32(b.dict.LocationTable().Len())
	l := b.dict.LocationTable().AppendEmpty()
	l.SetMappingIndex(mi)
	l.SetAddress(fr.Addr)
	if fn != 0 {
		ln := l.Lines().AppendEmpty()
		ln.SetFunctionIndex(fn)
		ln.SetLine(int64(fr.Line))
	}
	l.AttributeIndices().Append(b.attrStr("profile.frame.type", frameType(fr.Kind)))
	b.locations[k] = i
	return i
}

func (b *profilesBuilder) stack(locs []int32) int32 {
	b.stackKey = b.stackKey[:0]
	for _, l := range locs {
		b.stackKey = append(b.stackKey, byte(l), byte(l>>8), byte(l>>16), byte(l>>24))
	}
	if i, ok := b.stacks[string(b.stackKey)]; ok {
		return i
	}
	i := int32(b.dict.StackTable().Len())
	st := b.dict.StackTable().AppendEmpty()
	st.LocationIndices().FromRaw(locs)
	b.stacks[string(b.stackKey)] = i
	return i
}

func (b *profilesBuilder) profile(prof pprofile.Profile, p *export.Profile, pid int, idx []int) {
	prof.SampleType().SetTypeStrindex(b.str("samples"))
	prof.SampleType().SetUnitStrindex(b.str("count"))
	prof.PeriodType().SetTypeStrindex(b.str("cpu"))
	prof.PeriodType().SetUnitStrindex(b.str("nanoseconds"))
	if p.Freq > 0 {
		prof.SetPeriod(1e9 / int64(p.Freq))
	}
	if !p.Start.IsZero() {
		prof.SetTime(pcommon.NewTimestampFromTime(p.Start))
	}
	prof.SetDurationNano(uint64(max(p.Duration, 0)))
	ms := b.mappingsOf(p, pid)
	for _, si := range idx {
		s := &p.Samples[si]
		b.locs = b.locs[:0]
		for _, fr := range s.Stack {
			b.locs = append(b.locs, b.location(ms, fr))
		}
		ps := prof.Samples().AppendEmpty()
		ps.SetStackIndex(b.stack(b.locs))
		ps.Values().Append(int64(s.Weight()))
		a := ps.AttributeIndices()
		if s.TID > 0 {
			a.Append(b.attrInt("thread.id", int64(s.TID)))
		}
		if s.Comm != "" {
			a.Append(b.attrStr("thread.name", s.Comm))
		}
		if s.Step > 0 {
			a.Append(b.attrInt("step", int64(s.Step)))
		}
		if s.Action != "" {
			a.Append(b.attrStr("action", s.Action))
		}
	}
}
