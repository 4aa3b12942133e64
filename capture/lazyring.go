package capture

import (
	"context"
	"errors"
	"fmt"

	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// The capture ring is mapped into tracer only once it holds a first batch.
// The kernel maps a BPF ring's pages whole, and twice (so that a record
// that wraps reads as one), so a reader opened at once costs twice the
// ring in resident memory (16 MiB at the default size) in every session,
// most of which never capture a transition (a program that does not use
// the probe binding). Until then Read waits on the ring's descriptor, which
// the kernel makes readable at the first batch it commits.

// awaitFirstBatch waits until the ring holds a record or ctx ends; false
// when ctx ended with the ring still empty (or the capture was closed).
func (c *Capture) awaitFirstBatch(ctx context.Context) (bool, error) {
	stop, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return false, fmt.Errorf("wait for the capture ring: %w", err)
	}
	defer unix.Close(stop)
	after := context.AfterFunc(ctx, func() {
		unix.Write(stop, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	})
	defer after()
	ring := c.objs.Batches.FD()
	for {
		fds := []unix.PollFd{{Fd: int32(ring), Events: unix.POLLIN}, {Fd: int32(stop), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("wait for the capture ring: %w", err)
		}
		if n == 0 {
			continue
		}
		if fds[0].Revents&unix.POLLNVAL != 0 {
			return false, nil
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			return true, nil
		}
		// ctx ended: a batch committed just before still counts.
		fds = fds[:1]
		fds[0].Revents = 0
		if n, err := unix.Poll(fds, 0); err == nil && n > 0 && fds[0].Revents&unix.POLLIN != 0 {
			return true, nil
		}
		return false, nil
	}
}

// openReader maps the ring; Close closes what it opened.
func (c *Capture) openReader() (*ringbuf.Reader, error) {
	r, err := ringbuf.NewReader(c.objs.Batches)
	if err != nil {
		return nil, fmt.Errorf("open capture ring: %w", err)
	}
	c.mu.Lock()
	c.reader = r
	c.mu.Unlock()
	return r, nil
}
