package loader

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
)

// RingReader reads a BPF ring buffer on its own goroutine and hands each
// record, decoded, to a channel: the stacks of an interpreter's frame
// walker (interp/cpython, interp/v8). A record that cannot be decoded is
// counted (Malformed), never passed on.
type RingReader[T any] struct {
	reader *ringbuf.Reader
	wait   *RingWait // waits for the ring without blocking a thread
	decode func([]byte) (T, error)
	out    chan T

	wg        sync.WaitGroup
	stopping  atomic.Bool
	started   bool
	once      sync.Once
	malformed atomic.Uint64
}

// ringPollInterval is how often a ring is read when its program has not
// woken the reader (a walker wakes it only when a quarter of its ring is
// pending, or for a record that must be read at once: a code object seen
// for the first time). Only how soon a stack is named depends on it; each
// look costs wake-ups of tracer's threads.
const ringPollInterval = 100 * time.Millisecond

// NewRingReader opens a reader of ring buffer m; what names the ring in
// an error. decode turns one record into a T.
func NewRingReader[T any](m *ebpf.Map, what string, decode func([]byte) (T, error)) (*RingReader[T], error) {
	r, err := ringbuf.NewReader(m)
	if err != nil {
		return nil, fmt.Errorf("open %s ring: %w", what, err)
	}
	w, err := NewRingWait(m)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("open %s ring: %w", what, err)
	}
	return &RingReader[T]{reader: r, wait: w, decode: decode, out: make(chan T, 4096)}, nil
}

// Records returns the records read, in ring order (per CPU in time order).
// The channel is closed after Stop once the ring is drained.
func (r *RingReader[T]) Records() <-chan T { return r.out }

// Malformed is the number of records that could not be decoded.
func (r *RingReader[T]) Malformed() uint64 { return r.malformed.Load() }

// Start begins reading the ring.
func (r *RingReader[T]) Start() {
	if r.started {
		return
	}
	r.started = true
	r.wg.Add(1)
	go r.read()
}

// Stop drains what the ring holds, then ends the reading; Records is
// closed.
func (r *RingReader[T]) Stop() {
	r.once.Do(func() {
		r.stopping.Store(true)
		if r.started {
			r.wait.Stop() // the reader drains the ring and returns
		} else {
			close(r.out)
		}
	})
	r.wg.Wait()
}

// Close stops reading and closes the ring's reader (not the map).
func (r *RingReader[T]) Close() error {
	r.Stop()
	err := r.reader.Close()
	if werr := r.wait.Close(); err == nil {
		err = werr
	}
	return err
}

func (r *RingReader[T]) read() {
	defer r.wg.Done()
	defer close(r.out)
	var rec ringbuf.Record
	hasData := func() bool { return r.reader.AvailableBytes() > 0 }
	for {
		stopping := r.stopping.Load()
		r.wait.Wait(ringPollInterval, hasData)
		if !hasData() {
			if stopping {
				return
			}
			continue
		}
		// A deadline already past: what the ring holds is read without
		// waiting, then ReadInto says os.ErrDeadlineExceeded.
		r.reader.SetDeadline(time.Now())
		for {
			if err := r.reader.ReadInto(&rec); err != nil {
				if errors.Is(err, ringbuf.ErrFlushed) || errors.Is(err, os.ErrDeadlineExceeded) {
					break
				}
				return // closed
			}
			v, err := r.decode(rec.RawSample)
			if err != nil {
				r.malformed.Add(1)
				continue
			}
			r.out <- v
		}
	}
}
