package loader

import (
	"fmt"
	"io"
	"sort"
	"sync"
)

// JoinWindow is how far from its perf sample's time a record written by a
// program run in the same overflow handler (an interpreter's stack) may
// be: both are taken a few microseconds apart; samples of one thread are
// at least 100 µs apart (10 kHz at most).
const JoinWindow = 50_000 // ns

// ByThread keeps the records a sampling program wrote (an interpreter's
// stacks, already named), per thread, until each is joined with the perf
// sample of the same thread taken in the same overflow handler. It is
// safe for concurrent use.
type ByThread[T any] struct {
	mu     sync.Mutex
	m      map[int][]timed[T]
	joined int
}

type timed[T any] struct {
	time uint64
	v    T
}

// Add keeps v, read for thread tid at time.
func (b *ByThread[T]) Add(tid int, time uint64, v T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[int][]timed[T]{}
	}
	b.m[tid] = append(b.m[tid], timed[T]{time, v})
}

// Sort puts each thread's records in time order (rings are ordered per
// CPU, not across CPUs); call it once every record is in.
func (b *ByThread[T]) Sort() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, list := range b.m {
		sort.Slice(list, func(i, j int) bool { return list[i].time < list[j].time })
	}
}

// Take returns the record of thread tid nearest in time to a sample at
// time, within JoinWindow, and forgets it and every older one of the
// thread (samples are taken in time order; older records belong to
// samples that were lost).
func (b *ByThread[T]) Take(tid int, time uint64) (T, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var zero T
	list, ok := b.m[tid]
	if !ok {
		return zero, false
	}
	i := 0
	for i < len(list) && list[i].time+JoinWindow < time {
		i++
	}
	best := -1
	for k := i; k < len(list) && list[k].time <= time+JoinWindow; k++ {
		if best < 0 || absDiff(list[k].time, time) < absDiff(list[best].time, time) {
			best = k
		}
	}
	if best < 0 {
		b.m[tid] = list[i:]
		return zero, false
	}
	b.m[tid] = list[best+1:]
	b.joined++
	return list[best].v, true
}

// Joined is the number of records Take returned.
func (b *ByThread[T]) Joined() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.joined
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

// Notes are the remarks of one part of a session, each printed as it is
// made (with a "tracer: " prefix) and kept for the summary. Safe for
// concurrent use.
type Notes struct {
	mu   sync.Mutex
	log  io.Writer
	list []string
	once map[string]bool
}

// NewNotes returns notes printed to log (nil: kept only).
func NewNotes(log io.Writer) *Notes { return &Notes{log: log} }

// Add makes a note.
func (n *Notes) Add(format string, args ...any) { n.Once("", format, args...) }

// Once makes a note unless one was made with the same key (a file that
// cannot be read, say); the key "" is not remembered.
func (n *Notes) Once(key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	n.mu.Lock()
	defer n.mu.Unlock()
	if key != "" {
		if n.once[key] {
			return
		}
		if n.once == nil {
			n.once = map[string]bool{}
		}
		n.once[key] = true
	}
	n.list = append(n.list, msg)
	if n.log != nil {
		fmt.Fprintln(n.log, "tracer:", msg)
	}
}

// List returns the notes made so far.
func (n *Notes) List() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.list...)
}

// Forget drops thread tid's list when nothing in it waits to be joined,
// and says whether it did.
func (b *ByThread[T]) Forget(tid int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.m[tid]) > 0 {
		return false
	}
	delete(b.m, tid)
	return true
}
