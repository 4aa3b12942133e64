package loader

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNoProcess says the pid names no running process.
var ErrNoProcess = errors.New("no such process")

// Threads lists the threads of a running process (/proc/PID/task), the
// main thread first.
func Threads(pid int) ([]int, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("pid %d: %w", pid, ErrNoProcess)
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("pid %d: %w", pid, ErrNoProcess)
		}
		return nil, fmt.Errorf("list threads of pid %d: %w", pid, err)
	}
	tids := []int{pid}
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil && tid != pid {
			tids = append(tids, tid)
		}
	}
	sort.Ints(tids[1:])
	return tids, nil
}

// WatchExit returns a channel closed when process pid ends (through a pidfd),
// or when stop is closed. A process that is already gone closes it at once.
// The pidfd is watched by Go's poller: no thread waits in a system call
// (see RingWait for why that matters).
func WatchExit(pid int, stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		close(done)
		return done
	}
	_ = unix.SetNonblock(fd, true) // what makes os.NewFile use the poller
	f := os.NewFile(uintptr(fd), "pidfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		close(done)
		return done
	}
	var stopped atomic.Bool
	go func() {
		select {
		case <-stop:
			stopped.Store(true)
			_ = f.SetReadDeadline(time.Now()) // wakes the wait below
		case <-done:
		}
	}()
	go func() {
		defer close(done)
		defer f.Close()
		for !stopped.Load() {
			err := rc.Read(func(fd uintptr) bool {
				if stopped.Load() {
					return true
				}
				fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
				n, err := unix.Poll(fds, 0)
				return err == nil && n > 0
			})
			if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
				return // ended, stopped, or the descriptor failed
			}
		}
	}()
	return done
}
