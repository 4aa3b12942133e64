package capture

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// watchTree looks for the interpreter in the target and every descendant
// that has none attached yet. Until the first interpreter is found (at most
// three seconds) it looks every millisecond, following children of main
// threads only (a shell's child); then every 20 ms through every thread's
// children. The samplers' mmap records come in only every 50 ms, and a
// short program may write its only batch sooner. ObserveMapping still
// attaches from those records as a second way.
func (s *Stream) watchTree(ctx context.Context, root int) {
	start := time.Now()
	for {
		fast := !s.anyAttached() && time.Since(start) < 3*time.Second
		for _, pid := range processTree(root, !fast) {
			if s.isAttached(pid) {
				continue
			}
			if ts, err := s.capture.AttachProcess(pid); err == nil {
				s.markAttached(pid, ts)
			}
		}
		wait := 20 * time.Millisecond
		if fast {
			wait = time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// processTree returns root and its descendants, from the children lists of
// /proc/PID/task/TID/children (of the main thread only unless allThreads).
// It is empty once root has ended.
func processTree(root int, allThreads bool) []int {
	out := []int{root}
	for i := 0; i < len(out) && len(out) < 4096; i++ {
		tids := []string{fmt.Sprint(out[i])}
		if allThreads {
			tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", out[i]))
			if err != nil {
				if i == 0 {
					return nil
				}
				continue
			}
			tids = tids[:0]
			for _, task := range tasks {
				tids = append(tids, task.Name())
			}
		}
		for _, tid := range tids {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", out[i], tid))
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					out = append(out, pid)
				}
			}
		}
	}
	return out
}

func (s *Stream) anyAttached() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.attached) > 0
}

// followAttached follows, without stopping them, the processes an
// attached process and its existing children start from now on, and
// attaches to those children that already run an interpreter.
func (s *Stream) followAttached(c *Capture, root int) {
	onAttach := func(pid int, ts []Target) { s.markAttached(pid, ts) }
	for i, pid := range processTree(root, true) {
		if i > 0 {
			if ts, err := c.AttachProcess(pid); err == nil {
				s.markAttached(pid, ts)
			}
		}
		if err := c.Follow(pid, false, onAttach); err != nil {
			return // no BTF: children started later are found from their mappings
		}
	}
}

func (s *Stream) markAttached(pid int, ts []Target) {
	if len(ts) == 0 {
		return
	}
	s.mu.Lock()
	s.attached[pid] = true
	s.mu.Unlock()
}

func (s *Stream) isAttached(pid int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attached[pid]
}
