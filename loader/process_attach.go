package loader

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
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
func WatchExit(pid int, stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		defer unix.Close(fd)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, int(pollInterval/time.Millisecond))
			if err == nil && n > 0 {
				return
			}
			if err != nil && !errors.Is(err, unix.EINTR) {
				return
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	return done
}
