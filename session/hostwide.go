package session

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/loader"
)

// DefaultExes are the executables the host-wide mode follows when
// HostFilter.Exes is empty: CPython and Node.
var DefaultExes = []string{"python*", "node*"}

// HostFilter chooses the processes the host-wide mode follows (Config.All).
// A process is followed when its executable matches one of Exes and it
// passes the cgroup and uid filters that are set.
type HostFilter struct {
	// Exes are globs (path.Match) on the base name of the executable
	// (/proc/PID/exe): "python3*", "node". Empty means DefaultExes.
	Exes []string
	// Cgroup, when set, is a prefix of the process's cgroup v2 path
	// (/proc/PID/cgroup, "/system.slice/app.service").
	Cgroup string
	// UID, when not nil, is the real user id the process must run as.
	UID *int
}

// Check validates the filter and fills in the default executables.
func (f *HostFilter) Check() error {
	if len(f.Exes) == 0 {
		f.Exes = DefaultExes
	}
	for _, g := range f.Exes {
		if g == "" || strings.Contains(g, "/") {
			return usage.Errorf("invalid --exe %q: give executable names or globs such as python3,node", g)
		}
		if _, err := path.Match(g, ""); err != nil {
			return usage.Errorf("invalid --exe %q: %v", g, err)
		}
	}
	if f.Cgroup != "" && !strings.HasPrefix(f.Cgroup, "/") {
		return usage.Errorf("invalid --cgroup %q: give a cgroup path such as /system.slice", f.Cgroup)
	}
	return nil
}

// hostProcs decides, process by process, what the host-wide mode keeps.
// It is used only by the session's reading goroutine.
type hostProcs struct {
	f    HostFilter
	self int
	proc string       // the /proc to read (a test may point it elsewhere)
	keep map[int]bool // pid → followed, until its exit
}

func newHostProcs(f HostFilter) *hostProcs {
	return &hostProcs{f: f, self: os.Getpid(), proc: "/proc", keep: map[int]bool{}}
}

// wants says whether pid is followed, reading /proc the first time.
func (h *hostProcs) wants(pid int) bool {
	if pid <= 0 || pid == h.self {
		return false
	}
	if w, ok := h.keep[pid]; ok {
		return w
	}
	w := h.matches(pid)
	h.keep[pid] = w
	return w
}

// matches reads /proc to test pid against the filter.
func (h *hostProcs) matches(pid int) bool {
	dir := filepath.Join(h.proc, strconv.Itoa(pid))
	exe, err := os.Readlink(filepath.Join(dir, "exe"))
	if err != nil {
		return false // ended, or a kernel thread
	}
	name := filepath.Base(strings.TrimSuffix(exe, " (deleted)"))
	ok := false
	for _, g := range h.f.Exes {
		if m, _ := path.Match(g, name); m {
			ok = true
			break
		}
	}
	if !ok {
		return false
	}
	if h.f.UID != nil {
		uid, err := procUID(dir)
		if err != nil || uid != *h.f.UID {
			return false
		}
	}
	if h.f.Cgroup != "" {
		cg, err := procCgroup(dir)
		if err != nil || !cgroupUnder(cg, h.f.Cgroup) {
			return false
		}
	}
	return true
}

// cgroupUnder says whether cgroup path cg is prefix or below it.
func cgroupUnder(cg, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	return prefix == "" || cg == prefix || strings.HasPrefix(cg, prefix+"/")
}

// procUID reads the real uid of a process.
func procUID(dir string) (int, error) {
	f, err := os.Open(filepath.Join(dir, "status"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Uid:"); ok {
			fs := strings.Fields(rest)
			if len(fs) > 0 {
				return strconv.Atoi(fs[0])
			}
		}
	}
	return 0, fmt.Errorf("no Uid line in %s/status", dir)
}

// procCgroup reads the cgroup v2 path of a process ("0::/path").
func procCgroup(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			return rest, nil
		}
	}
	return "", fmt.Errorf("no cgroup v2 line in %s/cgroup", dir)
}

// filter says whether a sampler record belongs to a followed process. An
// exec decides again (the process may have become, or stopped being, an
// interpreter); an exit is passed on, then forgotten. Lost records are
// always kept.
func (h *hostProcs) filter(rec loader.Record) bool {
	switch r := rec.(type) {
	case *loader.Sample:
		return h.wants(r.PID)
	case *loader.Mmap:
		return h.wants(r.PID)
	case *loader.Comm:
		if r.Exec {
			delete(h.keep, r.PID)
		}
		return h.wants(r.PID)
	case *loader.Fork:
		return h.wants(r.PID)
	case *loader.Exit:
		w := h.keep[r.PID]
		if r.PID == r.TID {
			delete(h.keep, r.PID)
		}
		return w
	}
	return true
}

// running lists the processes already running that the filter follows.
func (h *hostProcs) running() []int {
	ents, err := os.ReadDir(h.proc)
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if h.wants(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// RunningAdder is a Plugin that, in the host-wide mode, is told of each
// followed process that was already running when tracing started (a new
// process it finds from the sampler's records).
type RunningAdder interface {
	AddRunning(pid int)
}

// hostwide samples every CPU and follows the processes the filter chooses
// (Config.All), as they start and end, until ctx is done or the duration
// has passed.
func (s *session) hostwide(ctx context.Context) error {
	cred, err := loader.ResolveUser("")
	if err != nil {
		return err
	}
	s.cred = cred
	s.host = newHostProcs(s.cfg.Filter)
	s.readyPlugins()
	s.window.open() // the samplers count from their opening
	s.start = s.window.wallStart
	smp, err := loader.OpenSampler(loader.SamplerConfig{AllProcesses: true, Freq: s.cfg.Freq, OnOpen: s.onOpen, RingPages: s.ringPages})
	if err != nil {
		return fmt.Errorf("open samplers: %w", err)
	}
	s.sampler = smp
	if err := s.attachPlugins(ctx, Target{All: true, Attach: true, Events: smp.Events(), Symbolizer: s.sym, Cred: s.cred}); err != nil {
		smp.Close()
		return err
	}
	// The samplers are open: a process started from now on is in their
	// records. Those already running are read from /proc, before the
	// reading starts (the filter is the reading goroutine's from then on).
	s.comms = map[int]string{}
	pids := s.host.running()
	for _, pid := range pids {
		tids, err := loader.Threads(pid)
		if err != nil {
			continue
		}
		for tid, c := range threadComms(pid, tids) {
			s.comms[tid] = c
		}
		if err := s.sym.LoadProcMaps(pid); err != nil {
			continue
		}
		for _, pl := range s.cfg.Plugins {
			if a, ok := pl.(RunningAdder); ok {
				a.AddRunning(pid)
			}
		}
	}
	s.startReading()
	s.note("following %d running processes and those that start (%s)", len(pids), s.cfg.Filter.describe())
	var timeout <-chan time.Time
	if s.cfg.Duration > 0 {
		t := time.NewTimer(s.cfg.Duration)
		defer t.Stop()
		timeout = t.C
	}
	stopStatus := s.showStatus("tracing the host")
	select {
	case <-ctx.Done():
	case <-timeout:
	}
	stopStatus()
	s.res.Duration = s.window.close()
	return s.stopReading()
}

// describe says what the filter follows, for the log.
func (f HostFilter) describe() string {
	d := "executables " + strings.Join(f.Exes, ",")
	if f.UID != nil {
		d += fmt.Sprintf(", uid %d", *f.UID)
	}
	if f.Cgroup != "" {
		d += ", cgroup " + f.Cgroup
	}
	return d
}
