package loader

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// RingWait waits for a BPF ring buffer to be worth reading, without holding
// a thread in a blocking system call: a copy of the ring's descriptor is
// watched by Go's own poller, the one that waits on network connections.
//
// Waiting in epoll_wait with a timeout, as ringbuf.Reader does, costs
// little in itself, but a goroutine blocked in a system call for more than
// 10 ms keeps the Go runtime's monitor thread from sleeping: it takes the
// goroutine's processor away and then looks again every 20 µs, about 60
// wake-ups for each wait. A reader that waits 20 ms at a time made that
// thread tracer's largest consumer of CPU while a program was traced.
type RingWait struct {
	f       *os.File
	rc      syscall.RawConn
	stopped atomic.Bool
}

// NewRingWait watches the ring m (a BPF_MAP_TYPE_RINGBUF). Close releases
// the copy of its descriptor; the map itself stays the caller's.
func NewRingWait(m *ebpf.Map) (*RingWait, error) {
	fd, err := unix.FcntlInt(uintptr(m.FD()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("watch ring: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watch ring: %w", err)
	}
	f := os.NewFile(uintptr(fd), "bpf-ring")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("watch ring: %w", err)
	}
	return &RingWait{f: f, rc: rc}, nil
}

// Wait returns when ready reports true, after d, or once Stop was called.
// ready is called first and then each time the ring's program wakes its
// readers (BPF_RB_FORCE_WAKEUP, or a submission without flags).
func (w *RingWait) Wait(d time.Duration, ready func() bool) {
	if w.stopped.Load() || ready() {
		return
	}
	if err := w.f.SetReadDeadline(time.Now().Add(d)); err != nil {
		time.Sleep(d) // not pollable after all: wait without the wake-up
		return
	}
	err := w.rc.Read(func(uintptr) bool { return w.stopped.Load() || ready() })
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		time.Sleep(d) // closed under us: the caller sees Stop or its ring closed
	}
}

// Stop wakes a Wait under way and makes later ones return at once.
func (w *RingWait) Stop() {
	w.stopped.Store(true)
	_ = w.f.SetReadDeadline(time.Now())
}

// Close releases the copy of the ring's descriptor.
func (w *RingWait) Close() error { return w.f.Close() }
