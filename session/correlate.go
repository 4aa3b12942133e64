package session

import (
	"cmp"
	"slices"
	"sort"
	"sync"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/model"
)

// A sample is labelled with the step whose [t0, t1] holds its time on the
// same thread. A busy program takes tens of thousands of steps a second and
// is sampled a thousand times a second, so the correlator does not keep
// every step: it matches samples and steps as they arrive, from either side,
// and keeps only the steps that hold a sample. Its memory is bounded by the
// sampling rate and the horizons below, not by the number of steps. (A
// thread takes one step at a time, so its steps do not overlap; were they
// to, a sample gets the latest-starting kept step that holds it.)
const (
	// recentHorizon is how long, in step time, a step is kept after a later
	// step of its thread ended, for a sample read after the batch holding
	// it (the sampler rings are read every 50 ms).
	recentHorizon = 2_000_000_000
	// recentMax bounds the recent steps kept per thread (2 MiB).
	recentMax = 1 << 16
	// pendingHorizon is how long, in sample time, a sample waits for the
	// batch holding its step (batches are flushed every 100 ms).
	pendingHorizon = 10_000_000_000
	// pruneEvery and pruneStepsEvery are the numbers of new waiting
	// samples, and of new steps, after which every thread is pruned (a
	// thread's own steps prune its recent steps as they come; a thread
	// that ended is pruned only this way).
	pruneEvery      = 4096
	pruneStepsEvery = 1 << 16
)

// window is one step's time on its thread.
type window struct {
	t0, t1 uint64 // CLOCK_MONOTONIC ns
	seq    uint64
	action model.ActionType
}

// tidWindow is a window and its thread, as a batch yields them.
type tidWindow struct {
	tid int
	w   window
}

// threadSteps is what the correlator keeps for one thread.
type threadSteps struct {
	recent  []window // the latest steps, by t0, from recent[head:]
	head    int
	pending []uint64 // times of samples no step holds yet, ascending
	kept    []window // steps that hold a sample, mostly by t0
}

// correlator matches samples to steps. Its own lock keeps the sampler's
// reading path (Observe) from waiting while a batch is checked.
type correlator struct {
	mu         sync.Mutex
	threads    map[int]*threadSteps
	newest     uint64 // the latest sample time seen
	newestStep uint64 // the latest step end seen
	pendingN   int    // samples added to pending since the last prune
	stepsN     int    // steps added since the last prune
	done       bool   // finish was called: kept is sorted, the rest freed
}

func newCorrelator() *correlator { return &correlator{threads: map[int]*threadSteps{}} }

func (c *correlator) thread(tid int) *threadSteps {
	th := c.threads[tid]
	if th == nil {
		th = &threadSteps{}
		c.threads[tid] = th
	}
	return th
}

// sample records a sample of tid at ts: labelled at once when a recent step
// holds it, else kept waiting for its step's batch.
func (c *correlator) sample(tid int, ts uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	c.newest = max(c.newest, ts)
	th := c.thread(tid)
	if w, ok := find(th.recent[th.head:], ts); ok {
		th.keep(w)
		return
	}
	i, _ := slices.BinarySearch(th.pending, ts)
	th.pending = slices.Insert(th.pending, i, ts)
	c.pendingN++
	if c.pendingN >= pruneEvery {
		c.prune()
	}
}

// prune drops waiting samples older than pendingHorizon (their steps were
// lost, or they fell between steps), recent steps that ended more than
// recentHorizon before the latest step of any thread, and threads with
// nothing left.
func (c *correlator) prune() {
	c.pendingN, c.stepsN = 0, 0
	for tid, th := range c.threads {
		if c.newest > pendingHorizon {
			i, _ := slices.BinarySearch(th.pending, c.newest-pendingHorizon)
			th.pending = slices.Delete(th.pending, 0, i)
		}
		for th.head < len(th.recent) && th.recent[th.head].t1+recentHorizon < c.newestStep {
			th.head++
		}
		if th.head == len(th.recent) {
			th.recent, th.head = nil, 0
		}
		if len(th.pending) == 0 && len(th.kept) == 0 && len(th.recent) == 0 {
			delete(c.threads, tid)
		}
	}
}

// steps adds the steps of one batch: each labels the waiting samples it
// holds and stays a while for samples still to be read.
func (c *correlator) steps(ws []tidWindow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	for _, x := range ws {
		th := c.thread(x.tid)
		w := x.w
		i := sort.Search(len(th.pending), func(i int) bool { return th.pending[i] >= w.t0 })
		j := sort.Search(len(th.pending), func(i int) bool { return th.pending[i] > w.t1 })
		if i < j {
			th.keep(w)
			th.pending = slices.Delete(th.pending, i, j)
		}
		th.addRecent(w)
		c.newestStep = max(c.newestStep, w.t1)
	}
	c.stepsN += len(ws)
	if c.stepsN >= pruneStepsEvery {
		c.prune()
	}
}

// addRecent appends w to the recent steps (in t0 order) and drops those
// that ended more than recentHorizon before the newest, or beyond
// recentMax.
func (th *threadSteps) addRecent(w window) {
	n := len(th.recent)
	if n == th.head || th.recent[n-1].t0 <= w.t0 {
		th.recent = append(th.recent, w)
	} else {
		i := th.head + sort.Search(n-th.head, func(i int) bool { return th.recent[th.head+i].t0 > w.t0 })
		th.recent = slices.Insert(th.recent, i, w)
	}
	for len(th.recent)-th.head > recentMax ||
		(th.head < len(th.recent) && th.recent[th.head].t1+recentHorizon < w.t1) {
		th.head++
	}
	// Move the live part down once the dropped part is the larger one.
	if th.head >= 1024 && th.head*2 >= len(th.recent) {
		n := copy(th.recent, th.recent[th.head:])
		th.recent = th.recent[:n]
		th.head = 0
	}
}

// keep adds w to the steps that hold a sample, unless it was the last one
// added (a long step holds many samples in a row).
func (th *threadSteps) keep(w window) {
	if n := len(th.kept); n > 0 && th.kept[n-1] == w {
		return
	}
	th.kept = append(th.kept, w)
}

// finish ends matching (every sample was observed, every batch handled):
// it orders each thread's kept steps by start, drops duplicates and frees
// the rest.
func (c *correlator) finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = true
	for tid, th := range c.threads {
		th.recent, th.pending, th.head = nil, nil, 0
		if len(th.kept) == 0 {
			delete(c.threads, tid)
			continue
		}
		slices.SortStableFunc(th.kept, func(a, b window) int {
			switch {
			case a.t0 < b.t0:
				return -1
			case a.t0 > b.t0:
				return 1
			}
			return 0
		})
		th.kept = slices.Compact(th.kept)
	}
}

// label returns the step that holds the sample of tid at ts (after finish).
func (c *correlator) label(tid int, ts uint64) (window, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	th := c.threads[tid]
	if th == nil {
		return window{}, false
	}
	return find(th.kept, ts)
}

// retained returns the number of steps and waiting samples held, for tests
// and measurements.
func (c *correlator) retained() (recent, pending, kept int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, th := range c.threads {
		recent += len(th.recent) - th.head
		pending += len(th.pending)
		kept += len(th.kept)
	}
	return recent, pending, kept
}

// find returns the step running at time ts among ws (ordered by t0): the
// last window starting at or before ts, if it has not ended before ts.
func find(ws []window, ts uint64) (window, bool) {
	i := sort.Search(len(ws), func(i int) bool { return ws[i].t0 > ts }) - 1
	if i < 0 || ws[i].t1 < ts {
		return window{}, false
	}
	return ws[i], true
}

// observeSample is Observe's part for samples.
func (t *Transitions) observeSample(s *loader.Sample) {
	t.corr.sample(s.TID, s.Time)
}

// Decorate labels a sample with the step whose [t0, t1] holds its time on
// the same thread: pprof's step (NumLabel) and action (Label).
func (t *Transitions) Decorate(in *loader.Sample, out *export.Sample) {
	w, ok := t.corr.label(in.TID, in.Time)
	if !ok {
		return
	}
	out.Step, out.Action = w.seq, w.action.String()
}

// settle orders each thread's kept steps by start while matching goes on,
// so that label works before finish (a continuous export labels each
// interval's samples as it goes).
func (c *correlator) settle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	for _, th := range c.threads {
		slices.SortStableFunc(th.kept, func(a, b window) int { return cmp.Compare(a.t0, b.t0) })
		th.kept = slices.Compact(th.kept)
	}
}

// release forgets the kept steps that ended before ts: the samples they
// hold were labelled and exported.
func (c *correlator) release(ts uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for tid, th := range c.threads {
		th.kept = slices.DeleteFunc(th.kept, func(w window) bool { return w.t1 < ts })
		if len(th.pending) == 0 && len(th.kept) == 0 && len(th.recent) == th.head {
			delete(c.threads, tid)
		}
	}
}

// SettleBefore readies Decorate for the samples taken before ts while
// tracing goes on (CLOCK_MONOTONIC ns).
func (t *Transitions) SettleBefore(ts uint64) { t.corr.settle() }

// ReleaseBefore forgets what only samples taken before ts needed.
func (t *Transitions) ReleaseBefore(ts uint64) { t.corr.release(ts) }
