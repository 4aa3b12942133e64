package export

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"slices"
	"sort"
	"unsafe"

	"github.com/google/pprof/profile"
	"github.com/tracer-dev/tracer/symbolize"
)

// BuildPprof turns p into a pprof profile with two sample values,
// samples/count and cpu/nanoseconds; the period is 1/Freq seconds. Samples
// carry the string labels comm and action and the numeric labels pid, tid
// and step, so `go tool pprof -tagfocus action=post` selects a transition.
// Samples with the same stack and the same labels are one pprof sample whose
// values are their sums. Mappings carry build IDs; functions are shared by
// name and file.
func BuildPprof(p *Profile) *profile.Profile {
	return newPprofBuilder(p).profile()
}

// WritePprof writes p as a gzipped pprof profile: what BuildPprof builds,
// encoded directly from the builder's tables (strings, functions, locations
// and stacks each made once), without a profile.Profile in between.
func WritePprof(w io.Writer, p *Profile) error {
	b := newPprofBuilder(p)
	bw := bufio.NewWriterSize(w, 256<<10)
	zw, err := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if err != nil {
		return fmt.Errorf("write pprof profile: %w", err)
	}
	if err := b.encode(zw); err != nil {
		return fmt.Errorf("write pprof profile: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write pprof profile: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write pprof profile: %w", err)
	}
	return nil
}

// pprofBuilder holds a profile as pprof's tables: every string, mapping,
// function and location once, stacks as lists of location IDs, and samples
// aggregated by stack and labels. IDs are indexes + 1.
type pprofBuilder struct {
	src *Profile

	strs    []string
	strIdx  map[string]int64
	maps    []pmapping
	mapIdx  map[mappingKey]int
	byPID   map[int][]int // mapping indexes per pid, sorted by start
	funcs   []pfunction
	funcIdx map[funcKey]int
	locs    []plocation
	locIdx  map[locKey]int

	// Stacks are met in two steps: seen holds each stack as it came (found
	// by the identity of its strings, see stackHash), pointing into stacks,
	// which holds each distinct list of locations once (found by its
	// encoding in stackOf, which is only asked about stacks not seen).
	seen    []pseen
	seenTab slots
	stacks  []pstack
	stackOf map[string]int32

	samples    []psample // aggregated, grouped by stack
	comm, actn strMemo

	// The label keys, first in the string table: their indexes, written
	// in every sample, are one byte.
	kComm, kAction, kPID, kTID, kStep int64
}

type mappingKey struct {
	start, limit, offset uint64
	path, buildID        string
}

type pmapping struct {
	start, limit, offset            uint64
	file, buildID                   int64
	hasFunctions, hasFiles, hasLine bool
}

type funcKey struct{ name, file string }

type pfunction struct{ name, system, file int64 }

type locKey struct {
	mapping uint64
	addr    uint64
	name    string
	file    string
	line    int
}

type plocation struct {
	mapping uint64 // ID, 0 for none
	addr    uint64
	fn      uint64 // function ID, 0 for no line
	line    int64
}

// pseen is a stack as a sample brought it: its hash, its frames (to tell
// hash collisions apart) and the index of its locations in stacks.
type pseen struct {
	hash   uint64
	pid    int32
	stack  int32
	frames []symbolize.Frame
}

// pstack is one list of locations: their IDs, leaf first, and the
// sample's location_id field that lists them, encoded once for every
// sample of the stack.
type pstack struct {
	ids []uint64
	enc pbuf
}

// sampleKey is what makes two samples one: the stack and the labels, the
// string labels as indexes in the string table (0 is "": none).
type sampleKey struct {
	stack        int32
	pid, tid     int32
	comm, action int32
	step         uint64
}

// strMemo remembers the last string of a label by identity: label values
// repeat from sample to sample and are most often the same string.
type strMemo struct {
	p *byte
	n int
	i int64
}

type psample struct {
	sampleKey
	count, nanos int64
}

func newPprofBuilder(p *Profile) *pprofBuilder {
	b := &pprofBuilder{
		src:     p,
		strIdx:  map[string]int64{},
		mapIdx:  map[mappingKey]int{},
		byPID:   map[int][]int{},
		funcIdx: map[funcKey]int{},
		locIdx:  map[locKey]int{},
		stackOf: map[string]int32{},
	}
	b.seenTab.init(256)
	b.str("")
	b.kComm, b.kAction, b.kPID, b.kTID, b.kStep = b.str("comm"), b.str("action"), b.str("pid"), b.str("tid"), b.str("step")
	for pid, ms := range p.Mappings {
		for _, m := range ms {
			b.byPID[pid] = append(b.byPID[pid], b.mapping(m))
		}
		ms := b.byPID[pid]
		sort.Slice(ms, func(i, j int) bool { return b.maps[ms[i]].start < b.maps[ms[j]].start })
	}
	b.addSamples(p.Samples)
	return b
}

// strMemo is str for a label's value, remembered in m.
func (b *pprofBuilder) strMemo(m *strMemo, s string) int64 {
	if p := unsafe.StringData(s); p == m.p && len(s) == m.n {
		return m.i
	}
	i := b.str(s)
	*m = strMemo{unsafe.StringData(s), len(s), i}
	return i
}

// str interns s in the string table.
func (b *pprofBuilder) str(s string) int64 {
	if i, ok := b.strIdx[s]; ok {
		return i
	}
	i := int64(len(b.strs))
	b.strs = append(b.strs, s)
	b.strIdx[s] = i
	return i
}

func (b *pprofBuilder) mapping(m symbolize.Mapping) int {
	k := mappingKey{m.Start, m.Limit, m.Offset, m.Path, m.BuildID}
	if i, ok := b.mapIdx[k]; ok {
		return i
	}
	b.maps = append(b.maps, pmapping{start: m.Start, limit: m.Limit, offset: m.Offset, file: b.str(m.Path), buildID: b.str(m.BuildID)})
	b.mapIdx[k] = len(b.maps) - 1
	return len(b.maps) - 1
}

// mappingOf finds the mapping of pid that holds addr: its index, or -1.
func (b *pprofBuilder) mappingOf(pid int, addr uint64) int {
	ms := b.byPID[pid]
	i := sort.Search(len(ms), func(i int) bool { return b.maps[ms[i]].limit > addr })
	if i < len(ms) && b.maps[ms[i]].start <= addr {
		return ms[i]
	}
	return -1
}

// function returns the ID of the function name in file.
func (b *pprofBuilder) function(name, file string) uint64 {
	k := funcKey{name, file}
	if i, ok := b.funcIdx[k]; ok {
		return uint64(i + 1)
	}
	n := b.str(name)
	b.funcs = append(b.funcs, pfunction{name: n, system: n, file: b.str(file)})
	b.funcIdx[k] = len(b.funcs) - 1
	return uint64(len(b.funcs))
}

// location returns the ID of the location of fr in pid.
func (b *pprofBuilder) location(pid int, fr symbolize.Frame) uint64 {
	m := -1
	if fr.Kind != symbolize.Kernel && fr.Kind != symbolize.Python && fr.Kind != symbolize.JS {
		m = b.mappingOf(pid, fr.Addr)
	}
	name := fr.Name()
	k := locKey{uint64(m + 1), fr.Addr, name, fr.File, fr.Line}
	if i, ok := b.locIdx[k]; ok {
		return uint64(i + 1)
	}
	l := plocation{mapping: uint64(m + 1), addr: fr.Addr}
	if fr.Function != "" {
		l.fn, l.line = b.function(name, fr.File), int64(fr.Line)
		if fr.Kind == symbolize.Python {
			// A system name unlike the name tells pprof the name is final:
			// otherwise it takes "<module>" for a C++ template and
			// strips it to nothing.
			b.funcs[l.fn-1].system = b.str("python:" + name)
		}
		if fr.Kind == symbolize.JS {
			b.funcs[l.fn-1].system = b.str("js:" + name)
		}
	} else if m < 0 {
		// An address in no known mapping: name it, or pprof shows nothing.
		l.fn = b.function(frameLabel(fr), "")
	}
	if m >= 0 && fr.Function != "" {
		pm := &b.maps[m]
		pm.hasFunctions = true
		pm.hasFiles = pm.hasFiles || fr.File != ""
		pm.hasLine = pm.hasLine || fr.Line > 0
	}
	b.locs = append(b.locs, l)
	b.locIdx[k] = len(b.locs) - 1
	return uint64(len(b.locs))
}

// stack returns the index in b.stacks of the locations of s's stack.
func (b *pprofBuilder) stack(s *Sample) int32 {
	h := stackHash(s.PID, s.Stack)
	slot := b.seenTab.first(h)
	for ; !b.seenTab.free(slot); slot = b.seenTab.next(slot) {
		if j, ok := b.seenTab.entry(slot, h); ok {
			if e := &b.seen[j]; e.hash == h && int(e.pid) == s.PID && framesEqual(e.frames, s.Stack) {
				return e.stack
			}
		}
	}
	ids := make([]uint64, len(s.Stack))
	for i, fr := range s.Stack {
		ids[i] = b.location(s.PID, fr)
	}
	n := 0
	for _, id := range ids {
		n += varintLen(id)
	}
	enc := make(pbuf, 0, fieldLen(sampleLocationID, n)).varint(sampleLocationID<<3 | 2).varint(uint64(n))
	for _, id := range ids {
		enc = enc.varint(id)
	}
	st, ok := b.stackOf[string(enc)]
	if !ok {
		st = int32(len(b.stacks))
		b.stacks = append(b.stacks, pstack{ids: ids, enc: enc})
		b.stackOf[string(enc)] = st
	}
	b.seen = append(b.seen, pseen{hash: h, pid: int32(s.PID), stack: st, frames: s.Stack})
	b.seenTab.put(slot, h, len(b.seen)-1, func(j int) uint64 { return b.seen[j].hash })
	return st
}

// addSamples fills b.samples from ss: the samples with the same stack and
// labels made one, grouped by stack, the stacks in the order they were
// first met and each stack's samples in the order they came. A sample's
// encoding then mostly repeats the one before it, which gzip compresses to
// a few bytes, and quickly.
//
// It works in three passes so that memory is read in order, not at random
// (a table of a million samples, probed at random, costs a cache miss a
// sample): the stack of each sample; each sample's key put at its place
// among the samples of its stack (a counting sort); then the samples of
// each stack, next to each other, aggregated with a small table.
func (b *pprofBuilder) addSamples(ss []Sample) {
	stackOf := make([]int32, len(ss))
	for i := range ss {
		stackOf[i] = b.stack(&ss[i])
	}
	b.seen, b.seenTab = nil, slots{}
	start := make([]int32, len(b.stacks)+1)
	for _, st := range stackOf {
		start[st+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	next := slices.Clone(start)
	all := make([]psample, len(ss))
	for i := range ss {
		s, st := &ss[i], stackOf[i]
		k := sampleKey{stack: st, pid: int32(s.PID), tid: int32(s.TID), step: s.Step, comm: int32(b.strMemo(&b.comm, s.Comm))}
		if s.Action != "" { // merged samples (Count) keep their action, not their step
			k.action = int32(b.strMemo(&b.actn, s.Action))
		}
		all[next[st]] = psample{sampleKey: k, count: int64(s.Weight()), nanos: b.src.sampleNanos(s)}
		next[st]++
	}
	// Aggregate each stack's samples in place: the n-th sample kept is
	// never after the n-th sample read.
	var tab slots
	out := 0
	for g := range b.stacks {
		lo, hi := int(start[g]), int(start[g+1])
		if hi-lo == 1 {
			all[out] = all[lo]
			out++
			continue
		}
		tab.reset(hi - lo)
		first := out
	each:
		for _, x := range all[lo:hi] {
			h := x.hash()
			i := tab.first(h)
			for ; !tab.free(i); i = tab.next(i) {
				if j, ok := tab.entry(i, h); ok && all[first+j].sampleKey == x.sampleKey {
					all[first+j].count += x.count
					all[first+j].nanos += x.nanos
					continue each
				}
			}
			all[out] = x
			tab.put(i, h, out-first, nil)
			out++
		}
	}
	if out < len(all)/2 {
		all = slices.Clone(all[:out]) // the larger array is let go
	}
	b.samples = all[:out]
}

// comments are the profile's comments: the records lost, then the
// profile's own lines (the command, the interpreter).
func (b *pprofBuilder) comments() []string {
	var cs []string
	if b.src.Lost > 0 {
		cs = append(cs, fmt.Sprintf("lost records: %d", b.src.Lost))
	}
	return append(cs, b.src.Comments...)
}

func (b *pprofBuilder) timeNanos() int64 {
	if b.src.Start.IsZero() {
		return 0
	}
	return b.src.Start.UnixNano()
}

// profile builds the profile.Profile of the builder's tables.
func (b *pprofBuilder) profile() *profile.Profile {
	p := b.src
	prof := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "samples", Unit: "count"},
			{Type: "cpu", Unit: "nanoseconds"},
		},
		PeriodType:    &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:        p.period(),
		DurationNanos: p.Duration.Nanoseconds(),
		TimeNanos:     b.timeNanos(),
		Comments:      b.comments(),
	}
	for i, m := range b.maps {
		prof.Mapping = append(prof.Mapping, &profile.Mapping{ID: uint64(i + 1), Start: m.start, Limit: m.limit, Offset: m.offset,
			File: b.strs[m.file], BuildID: b.strs[m.buildID], HasFunctions: m.hasFunctions, HasFilenames: m.hasFiles, HasLineNumbers: m.hasLine})
	}
	for i, f := range b.funcs {
		prof.Function = append(prof.Function, &profile.Function{ID: uint64(i + 1), Name: b.strs[f.name], SystemName: b.strs[f.system], Filename: b.strs[f.file]})
	}
	for i, l := range b.locs {
		pl := &profile.Location{ID: uint64(i + 1), Address: l.addr}
		if l.mapping > 0 {
			pl.Mapping = prof.Mapping[l.mapping-1]
		}
		if l.fn > 0 {
			pl.Line = []profile.Line{{Function: prof.Function[l.fn-1], Line: l.line}}
		}
		prof.Location = append(prof.Location, pl)
	}
	for _, s := range b.samples {
		ps := &profile.Sample{
			Value:    []int64{s.count, s.nanos},
			Label:    map[string][]string{},
			NumLabel: map[string][]int64{"pid": {int64(s.pid)}, "tid": {int64(s.tid)}},
		}
		if s.comm != 0 {
			ps.Label["comm"] = []string{b.strs[s.comm]}
		}
		if s.step > 0 {
			ps.NumLabel["step"] = []int64{int64(s.step)}
		}
		if s.action != 0 {
			ps.Label["action"] = []string{b.strs[s.action]}
		}
		for _, id := range b.stacks[s.stack].ids {
			ps.Location = append(ps.Location, prof.Location[id-1])
		}
		prof.Sample = append(prof.Sample, ps)
	}
	return prof
}
