package session

import (
	"encoding/binary"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/interp/cpython"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/symbolize"
)

// Streamer receives a session's samples interval by interval while tracing
// goes on (a continuous export: export/otlp). Export is called from a
// goroutine of the session, never concurrently, and must not wait on the
// network.
type Streamer interface {
	Export(p *export.Profile)
}

// DefaultStreamEvery is the interval of a continuous export when
// Config.StreamEvery is 0.
const DefaultStreamEvery = 10 * time.Second

// streamLag is how far behind the present an interval ends: a sample's
// step arrives with its batch (flushed every 100 ms) and the rings are
// read every 50 ms, so a sample older than this has met its step.
const streamLag = time.Second

// liveDecorator is a Decorator that can label samples while tracing goes
// on: SettleBefore readies it for the samples taken before ts, and
// ReleaseBefore lets it forget what only those needed.
type liveDecorator interface {
	SettleBefore(ts uint64)
	ReleaseBefore(ts uint64)
}

// streamer cuts the session's records into intervals: every interval it
// symbolizes and decorates the samples older than streamLag, hands them to
// the Streamer, and folds them into a compact aggregate (one sample per
// stack of functions, thread, command and action, with a count; the step
// label and the addresses are not kept) from which the local outputs are written at the end. Memory thus
// grows with the distinct stacks, not with time.
type streamer struct {
	s     *session
	out   Streamer
	every time.Duration

	recMu sync.Mutex // guards s.records while the reader appends

	comms    map[int]string
	procs    map[int]export.Process
	pids     map[int]bool
	stacks   map[string][]symbolize.Frame
	agg      map[aggKey]int // index in samples
	samples  []export.Sample
	last     time.Time // the end of the last interval
	lastLost uint64
	key      []byte

	stop chan struct{}
	done chan struct{}
}

type aggKey struct {
	stack    string
	pid, tid int
	comm     string
	action   string
}

func newStreamer(s *session) *streamer {
	every := s.cfg.StreamEvery
	if every <= 0 {
		every = DefaultStreamEvery
	}
	st := &streamer{
		s: s, out: s.cfg.Stream, every: every,
		comms: map[int]string{}, procs: map[int]export.Process{}, pids: map[int]bool{},
		stacks: map[string][]symbolize.Frame{}, agg: map[aggKey]int{},
	}
	return st
}

// keep adds a record read from the samplers.
func (s *session) keep(rec loader.Record) {
	if s.stream == nil {
		s.records = append(s.records, rec)
		return
	}
	s.stream.recMu.Lock()
	s.records = append(s.records, rec)
	s.stream.recMu.Unlock()
}

// begin starts the intervals (when reading starts).
func (st *streamer) begin() {
	for tid, c := range st.s.comms {
		st.comms[tid] = c
	}
	st.last = st.s.start
	st.stop = make(chan struct{})
	st.done = make(chan struct{})
	go func() {
		defer close(st.done)
		t := time.NewTicker(st.every)
		defer t.Stop()
		for {
			select {
			case <-st.stop:
				return
			case <-t.C:
				st.cut(monotonicNow()-uint64(streamLag), time.Now().Add(-streamLag))
			}
		}
	}()
}

// end stops the intervals (before the plugins are detached).
func (st *streamer) end() {
	if st.stop == nil {
		return
	}
	close(st.stop)
	<-st.done
	st.stop = nil
}

func monotonicNow() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}

// cut exports the samples taken before cutoff (CLOCK_MONOTONIC ns) as the
// interval that ends at the wall time end.
func (st *streamer) cut(cutoff uint64, end time.Time) {
	s := st.s
	st.recMu.Lock()
	var older []loader.Record
	rest := s.records[:0]
	for _, r := range s.records {
		if r.RecordTime() < cutoff {
			older = append(older, r)
		} else {
			rest = append(rest, r)
		}
	}
	clear(s.records[len(rest):])
	s.records = rest
	st.recMu.Unlock()
	sort.SliceStable(older, func(i, j int) bool { return older[i].RecordTime() < older[j].RecordTime() })

	decorators := s.decorators()
	for _, d := range decorators {
		if l, ok := d.(liveDecorator); ok {
			l.SettleBefore(cutoff)
		}
	}
	samples, pids := s.replay(older, st.comms, decorators)
	for _, d := range decorators {
		if l, ok := d.(liveDecorator); ok {
			l.ReleaseBefore(cutoff)
		}
	}
	lost := s.sampler.Stats().Lost
	st.export(samples, pids, end, lost-st.lastLost)
	st.lastLost = lost
}

// export hands one interval to the Streamer and folds its samples into the
// aggregate.
func (st *streamer) export(samples []export.Sample, pids map[int]bool, end time.Time, lost uint64) {
	s := st.s
	p := &export.Profile{
		Samples:   samples,
		Mappings:  map[int][]symbolize.Mapping{},
		Processes: map[int]export.Process{},
		Freq:      s.cfg.Freq,
		Start:     st.last,
		Duration:  end.Sub(st.last),
		Lost:      lost,
	}
	for pid := range pids {
		st.pids[pid] = true
		p.Mappings[pid] = s.sym.Mappings(pid)
		p.Processes[pid] = st.process(pid, p.Mappings[pid])
	}
	if st.out != nil {
		st.out.Export(p)
	}
	st.last = end
	period := uint64(0)
	if s.cfg.Freq > 0 {
		period = uint64(time.Second) / uint64(s.cfg.Freq)
	}
	for i := range samples {
		x := &samples[i]
		k := aggKey{stack: st.intern(x.Stack), pid: x.PID, tid: x.TID, comm: x.Comm, action: x.Action}
		nanos := x.Period
		if nanos == 0 {
			nanos = period * uint64(x.Weight())
		}
		if j, ok := st.agg[k]; ok {
			st.samples[j].Count += x.Weight()
			st.samples[j].Period += nanos
			continue
		}
		st.agg[k] = len(st.samples)
		st.samples = append(st.samples, export.Sample{
			Stack: st.stacks[k.stack], PID: x.PID, TID: x.TID, Comm: x.Comm,
			Action: x.Action, Count: x.Weight(), Period: nanos,
		})
	}
}

// intern returns the key of a stack, keeping one copy of each. The
// aggregate keeps frames without their addresses, and native frames
// without their line (a Python frame is its function, file and line; a
// native one its function and file, or its module), so that it grows with
// the code paths that run, not with the instructions sampled.
func (st *streamer) intern(stack []symbolize.Frame) string {
	b := st.key[:0]
	for _, fr := range stack {
		b = binary.AppendUvarint(b, uint64(aggLine(fr)))
		b = append(b, byte(fr.Kind))
		b = append(b, fr.Function...)
		b = append(b, 0)
		b = append(b, fr.File...)
		b = append(b, 0)
		b = append(b, fr.Module...)
		b = append(b, 0)
	}
	st.key = b
	if _, ok := st.stacks[string(b)]; !ok {
		kept := slices.Clone(stack)
		for i := range kept {
			kept[i].Addr, kept[i].Line = 0, aggLine(kept[i])
		}
		st.stacks[string(b)] = kept
	}
	return string(b)
}

// aggLine is the line the aggregate keeps of a frame.
func aggLine(fr symbolize.Frame) int {
	if fr.Kind == symbolize.Python {
		return fr.Line
	}
	return 0
}

// process describes pid: its executable and, for CPython and Node, the
// runtime (read once, while the process may still run).
func (st *streamer) process(pid int, ms []symbolize.Mapping) export.Process {
	// Kept once the runtime is known; until then (a shell that will exec
	// python, mappings not yet seen) read again at each interval.
	if p, ok := st.procs[pid]; ok && (p.RuntimeVersion != "" || p.RuntimeName == "nodejs") {
		return p
	}
	p := export.Process{PID: pid}
	if exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe")); err == nil {
		p.ExecutablePath = exe
		p.Executable = filepath.Base(exe)
	} else {
		p.Executable = st.comms[pid]
	}
	for _, m := range ms {
		if cpython.IsInterpreterPath(m.Path) {
			p.RuntimeName = "cpython"
			// The executable may only be a launcher of libpython.
			if pf, err := cpython.Inspect(m.Path); err == nil {
				p.RuntimeVersion = pf.Version
				break
			}
		}
	}
	if p.RuntimeName == "" && symbolize.IsNode(p.ExecutablePath) {
		p.RuntimeName = "nodejs"
	}
	// A process that has already ended is known by its mappings.
	for _, m := range ms {
		if p.RuntimeName != "" || p.ExecutablePath != "" {
			break
		}
		if symbolize.IsNode(m.Path) {
			p.RuntimeName, p.ExecutablePath, p.Executable = "nodejs", m.Path, filepath.Base(m.Path)
		}
	}
	st.procs[pid] = p
	return p
}

// final exports what was left since the last interval (every record has
// been read and every plugin detached) and returns the whole session's
// profile from the aggregate.
func (st *streamer) final() *export.Profile {
	s := st.s
	recs := s.records
	s.records = nil
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].RecordTime() < recs[j].RecordTime() })
	samples, pids := s.replay(recs, st.comms, s.decorators())
	st.export(samples, pids, time.Now(), s.res.Lost-min(st.lastLost, s.res.Lost))
	prof := &export.Profile{
		Samples:   st.samples,
		Mappings:  map[int][]symbolize.Mapping{},
		Processes: st.procs,
		Freq:      s.cfg.Freq,
		Start:     s.start,
		Duration:  s.res.Duration,
		Lost:      s.res.Lost,
		Comments:  s.profileComments(),
	}
	for _, pid := range slices.Sorted(maps.Keys(st.pids)) {
		prof.Mappings[pid] = s.sym.Mappings(pid)
	}
	return prof
}
