package capture

import (
	"runtime"
	"testing"
)

// TestBatchQueueBounded: a reader that pushes faster than the checker
// drains waits once the queue holds its limit; every batch still arrives, in
// order, and the queue never holds more than the limit.
func TestBatchQueueBounded(t *testing.T) {
	const limit, size, n = 1 << 20, 64 << 10, 200
	q := newBatchQueue(limit)
	go func() {
		defer q.close()
		payload := make([]byte, size)
		for i := range n {
			payload[0] = byte(i)
			q.push(Batch{Number: uint32(i + 1), Payload: payload})
		}
	}()
	next, most := uint32(1), 0
	err := q.drain(func(b Batch) error {
		if next == 1 {
			// Hold the first batch until the reader has filled the queue.
			for {
				q.mu.Lock()
				full := q.bytes+size > limit
				q.mu.Unlock()
				if full {
					break
				}
				runtime.Gosched()
			}
		}
		q.mu.Lock()
		most = max(most, q.bytes)
		q.mu.Unlock()
		if b.Number != next || b.Payload[0] != byte(next-1) || len(b.Payload) != size {
			t.Fatalf("batch %d (first byte %d) arrived, want %d", b.Number, b.Payload[0], next)
		}
		next++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if next != n+1 {
		t.Fatalf("%d batches arrived, want %d", next-1, n)
	}
	if most > limit || most < limit-size {
		t.Fatalf("the queue held up to %d bytes, want up to %d", most, limit)
	}
	if q.waited() == 0 {
		t.Fatal("the reader never waited for room")
	}
}

// TestBatchQueueOversized: a batch larger than the limit still passes when
// the queue is empty.
func TestBatchQueueOversized(t *testing.T) {
	q := newBatchQueue(16)
	go func() {
		defer q.close()
		for i := range 3 {
			q.push(Batch{Number: uint32(i + 1), Payload: make([]byte, 100)})
		}
	}()
	got := 0
	if err := q.drain(func(b Batch) error { got++; return nil }); err != nil || got != 3 {
		t.Fatalf("%d batches, %v", got, err)
	}
}
