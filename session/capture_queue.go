package session

import (
	"sync"

	"github.com/tracer-dev/tracer/loader"
)

// batchQueue lets the ring reader hand batches over at once, so the kernel
// ring never fills while a batch is being checked: the reader copies each
// batch here and goes on reading.
type batchQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []loader.Batch
	closed bool
}

func newBatchQueue() *batchQueue {
	q := &batchQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// push queues a copy of b (its payload belongs to the reader).
func (q *batchQueue) push(b loader.Batch) error {
	b.Payload = append([]byte(nil), b.Payload...)
	q.mu.Lock()
	q.items = append(q.items, b)
	q.mu.Unlock()
	q.cond.Signal()
	return nil
}

func (q *batchQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Signal()
}

// drain hands every batch to fn in order until the queue is closed and
// empty. After an error from fn the remaining batches are dropped.
func (q *batchQueue) drain(fn func(loader.Batch) error) error {
	var first error
	for {
		q.mu.Lock()
		for len(q.items) == 0 && !q.closed {
			q.cond.Wait()
		}
		items := q.items
		q.items = nil
		closed := q.closed
		q.mu.Unlock()
		for _, b := range items {
			if first == nil {
				first = fn(b)
			}
		}
		if closed && len(items) == 0 {
			return first
		}
	}
}
