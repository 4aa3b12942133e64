package loader

import (
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// The keeper: what makes a process stopped at exec (Capture.Follow) never
// outlive tracer. The BPF program that stops a followed process at its exec
// first puts its pid in the held map; tracer continues it once its uprobe is
// in place and removes it. The keeper is a small process (the tracer binary
// itself, like the exec shim, with keeperEnv set) that holds the held map
// and a pidfd of tracer, and waits:
//
//   - when tracer ends its capture it writes one byte to the keeper's pipe
//     and the keeper exits (tracer has continued every held process);
//   - when tracer dies instead, whatever kills it (SIGKILL, the OOM killer,
//     a crash), the pidfd becomes readable once every thread of tracer has
//     exited, so its descriptors are closed and the BPF programs detached:
//     no process is stopped any more. The keeper waits one RCU grace period
//     (membarrier), so a program that was still running has finished, then
//     sends SIGCONT to every pid still in held, and exits.
//
// RunHelperRole runs the keeper. The keeper runs in a session of its own, so a Ctrl-C or a kill of tracer's
// process group does not reach it. Stopping is on only while it lives:
// tracer turns it off (the ctl map) if the keeper ends first.
const keeperEnv = "TRACER_EXEC_KEEPER"

// The keeper's descriptors.
const (
	keeperPipeFD  = 3 // read end: a byte means a clean end, EOF alone a death
	keeperPidFD   = 4 // pidfd of tracer
	keeperHeldFD  = 5 // the held map
	keeperQuitMsg = 'q'

	membarrierGlobal = 1 // MEMBARRIER_CMD_GLOBAL: one RCU grace period
)

func runKeeper() int {
	fds := []unix.PollFd{{Fd: keeperPidFD, Events: unix.POLLIN}, {Fd: keeperPipeFD, Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
			return 1
		}
		if fds[0].Revents != 0 {
			break // tracer has exited
		}
		if len(fds) > 1 && fds[1].Revents != 0 {
			var b [1]byte
			n, _ := unix.Read(keeperPipeFD, b[:])
			if n == 1 && b[0] == keeperQuitMsg {
				return 0
			}
			fds = fds[:1] // EOF without the byte: tracer is dying
		}
	}
	// Every thread of tracer has exited: no BPF program of its can stop a
	// process any more once those already running are done.
	if _, _, e := unix.Syscall(unix.SYS_MEMBARRIER, membarrierGlobal, 0, 0); e != 0 {
		unix.Nanosleep(&unix.Timespec{Nsec: 50e6}, nil)
	}
	held, err := ebpf.NewMapFromFD(keeperHeldFD)
	if err != nil {
		return 1
	}
	ContinueHeld(held)
	return 0
}

// ContinueHeld sends SIGCONT to every pid in held and removes it.
func ContinueHeld(held *ebpf.Map) {
	var pids []uint32
	var k uint32
	var v uint8
	it := held.Iterate()
	for it.Next(&k, &v) {
		pids = append(pids, k)
	}
	for _, pid := range pids {
		unix.Kill(int(pid), unix.SIGCONT)
		held.Delete(pid)
	}
}

// Keeper is tracer's side of the keeper process.
type Keeper struct {
	quit    *os.File // write end of the pipe
	stopped atomic.Bool
}

// StartKeeper starts the keeper over held (a BPF hash map of pids). onExit is called if the keeper
// ends before stopKeeper.
func StartKeeper(held *ebpf.Map, onExit func()) (*Keeper, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find tracer executable for the keeper: %w", err)
	}
	pidfd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd of tracer: %w", err)
	}
	pf := os.NewFile(uintptr(pidfd), "pidfd")
	defer pf.Close()
	dup, err := unix.FcntlInt(uintptr(held.FD()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("held map: %w", err)
	}
	hf := os.NewFile(uintptr(dup), "held")
	defer hf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(self)
	cmd.Env = []string{keeperEnv + "=1"}
	cmd.Dir = "/" // it holds no directory busy (a file system to unmount)
	cmd.ExtraFiles = []*os.File{r, pf, hf}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start the keeper: %w", err)
	}
	k := &Keeper{quit: w}
	go func() {
		cmd.Wait()
		if !k.stopped.Load() {
			onExit()
		}
	}()
	return k, nil
}

// Stop tells the keeper that tracer has continued every held process.
func (k *Keeper) Stop() {
	if k.stopped.Swap(true) {
		return
	}
	k.quit.Write([]byte{keeperQuitMsg})
	k.quit.Close()
}
