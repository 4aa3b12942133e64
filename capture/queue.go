package capture

import (
	"sync"
)

// QueueBytes bounds the payload bytes waiting in a batchQueue: about a
// second of a busy container's batches (16 MB/s at 80 000 steps/s).
const QueueBytes = 16 << 20

// batchQueue lets the ring reader hand batches over at once, so the kernel
// ring does not fill while one batch is being checked: the reader copies
// each batch here and goes on reading. It holds at most limit bytes of
// payload (one batch always fits). When the checker falls further behind,
// push waits: the reader stops taking records from the BPF ring, which then
// absorbs the burst or, once full, counts each batch it must drop (reported
// as ring-full losses and gaps). Memory stays bounded however long the run.
type batchQueue struct {
	mu       sync.Mutex
	notEmpty *sync.Cond
	notFull  *sync.Cond
	items    []Batch
	bytes    int // payload bytes queued or being handled
	limit    int
	closed   bool
	waits    uint64 // pushes that had to wait for room
}

func newBatchQueue(limit int) *batchQueue {
	q := &batchQueue{limit: limit}
	q.notEmpty = sync.NewCond(&q.mu)
	q.notFull = sync.NewCond(&q.mu)
	return q
}

// push queues a copy of b (its payload belongs to the reader), waiting
// while the queue is full.
func (q *batchQueue) push(b Batch) error {
	b.Payload = append([]byte(nil), b.Payload...)
	n := len(b.Payload)
	q.mu.Lock()
	if q.bytes > 0 && q.bytes+n > q.limit {
		q.waits++
		for q.bytes > 0 && q.bytes+n > q.limit {
			q.notFull.Wait()
		}
	}
	q.items = append(q.items, b)
	q.bytes += n
	q.mu.Unlock()
	q.notEmpty.Signal()
	return nil
}

func (q *batchQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.notEmpty.Signal()
}

// drain hands every batch to fn in order until the queue is closed and
// empty. After an error from fn the remaining batches are dropped. A batch's
// bytes count against the limit until fn has returned.
func (q *batchQueue) drain(fn func(Batch) error) error {
	var first error
	var items []Batch
	for {
		q.mu.Lock()
		for len(q.items) == 0 && !q.closed {
			q.notEmpty.Wait()
		}
		// Swap the slices: the reader appends to the one just handled.
		items, q.items = q.items, items[:0]
		closed := q.closed
		q.mu.Unlock()
		for i := range items {
			if first == nil {
				first = fn(items[i])
			}
			n := len(items[i].Payload)
			items[i] = Batch{} // let the payload go
			q.mu.Lock()
			q.bytes -= n
			q.mu.Unlock()
			q.notFull.Signal()
		}
		if closed && len(items) == 0 {
			return first
		}
	}
}

// waited returns how many pushes had to wait for room.
func (q *batchQueue) waited() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waits
}
