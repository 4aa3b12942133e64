package loader

import (
	"os"
	"os/exec"
	"syscall"

	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Removing a uprobe waits for an RCU grace period: about 100 ms here, for
// each close of a uprobe link. A session removes its uprobes when the
// target has ended, and the wait used to be the last thing tracer's
// process did before it could exit (the exit waits for a thread inside
// close). CloseLinks lets a helper process do the waiting instead:
//
//  1. it starts the helper (the tracer binary itself, like the exec shim,
//     with releaseEnv set) with a copy of each link's descriptor and the
//     read end of a pipe;
//  2. it closes tracer's own descriptors: the helper still holds every
//     link, so nothing is removed and nothing waits;
//  3. it closes the pipe: the helper, reading it, sees the end and exits,
//     and its exit drops the last references: the kernel removes the
//     uprobes (and waits) in the helper.
//
// The uprobes are removed some milliseconds later than a plain close would
// start removing them; the BPF program behind them takes the writes of
// processes tracer tracks only, and what it still copies goes to a ring no
// one reads. If the helper cannot be started the links are closed here.
const releaseEnv = "TRACER_RELEASE_HELPER"

// releasePipeFD is the helper's end of the pipe; the links follow it.
const releasePipeFD = 3

// runReleaseHelper holds the inherited links until the pipe ends.
func runReleaseHelper() {
	var b [64]byte
	for {
		n, err := syscall.Read(releasePipeFD, b[:])
		if n <= 0 && err != syscall.EINTR {
			break
		}
	}
}

// CloseLinks closes links, through a helper process where the links give
// their descriptors. It returns the first error of closing tracer's copies.
func CloseLinks(links []link.Link) error {
	var files []*os.File
	for _, l := range links {
		if f, ok := dupLink(l); ok {
			files = append(files, f)
		}
	}
	done := startReleaseHelper(files)
	for _, f := range files {
		f.Close()
	}
	var first error
	for _, l := range links {
		if err := l.Close(); err != nil && first == nil {
			first = err
		}
	}
	done()
	return first
}

// ReleaseFiles closes files so that whatever their last reference holds is
// freed in a helper process, as CloseLinks does for uprobes: a session
// that replaces a large trace file keeps a reference to the old one across
// the rename and hands it here, so that the file system frees its blocks
// (about 30 ms for 70 MiB on this machine's ext4) after tracer has exited
// rather than before. If the helper cannot be started the files are
// closed here.
func ReleaseFiles(files []*os.File) {
	done := startReleaseHelper(files)
	for _, f := range files {
		f.Close()
	}
	done()
}

// dupLink returns a copy of the descriptor of l, when l has one.
func dupLink(l link.Link) (*os.File, bool) {
	fl, ok := l.(interface{ FD() int })
	if !ok || fl.FD() < 0 {
		return nil, false
	}
	fd, err := unix.FcntlInt(uintptr(fl.FD()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	return os.NewFile(uintptr(fd), "bpf-link"), true
}

// startReleaseHelper starts the helper holding files and returns the
// function that lets it exit. With no files, or if the helper cannot be
// started, it starts nothing and the returned function does nothing.
func startReleaseHelper(files []*os.File) (done func()) {
	nothing := func() {}
	if len(files) == 0 {
		return nothing
	}
	self, err := os.Executable()
	if err != nil {
		return nothing
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nothing
	}
	cmd := exec.Command(self)
	cmd.Env = []string{releaseEnv + "=1"}
	cmd.Dir = "/" // it holds no directory busy (a file system to unmount)
	cmd.ExtraFiles = append([]*os.File{r}, files...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // not in the terminal's foreground group: Ctrl-C is not for it
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nothing
	}
	return func() {
		w.Close()
		go cmd.Wait() // reaped if tracer lives on; otherwise init reaps it
	}
}
