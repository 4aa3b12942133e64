package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/symbolize"
)

// killGrace is how long a run waits, after Ctrl-C, for the command to end
// before it sends SIGTERM, and then again before SIGKILL.
const killGrace = 3 * time.Second

// session is the state of one Run.
type session struct {
	cfg  Config
	sym  *symbolize.Symbolizer
	log  io.Writer
	res  Result
	cred *loader.Credential

	sampler   *loader.Sampler
	records   []loader.Record
	consumed  chan struct{}
	comms     map[int]string // thread and process names known before sampling (attach)
	ringPages int            // sampler ring size (Config.SamplerRingPages); 0: default

	start    time.Time
	window   sampleWindow // the samplers' time, in the samples' clock
	tm       *timer
	perfMaps bool       // the command's node processes write perf maps because tracer asked
	stream   *streamer  // a continuous export (stream.go); nil: none
	host     *hostProcs // the host-wide mode's filter (hostwide.go); nil: not host-wide
}

// note prints a one-line remark and keeps it in the result.
func (s *session) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.res.Notes = append(s.res.Notes, msg)
	fmt.Fprintln(s.log, "tracer:", msg)
}

// run starts cfg.Command behind the gate, samples it until it ends.
func (s *session) run(ctx context.Context) error {
	cred, err := loader.ResolveUser(s.cfg.User)
	if err != nil {
		return usage.Wrap(err)
	}
	s.cred = cred
	argv := s.cfg.Command
	env := os.Environ()
	path, err := loader.LookPath(argv[0], env)
	if err != nil {
		if errors.Is(err, loader.ErrNotFound) {
			return usage.Errorf("command not found: %s: check its name and PATH, or give its path", argv[0])
		}
		return usage.Errorf("%v: give an executable file (or make it one with chmod +x)", err)
	}
	if (symbolize.IsNode(path) || symbolize.IsNode(argv[0])) && nodeNeedsPerfMap(path) {
		s.perfMaps = causesPerfMaps(env)
		env = symbolize.WithNodeJIT(env)
	}
	if env, err = s.pluginEnv(env, cred); err != nil {
		return err
	}
	cwd, _ := os.Getwd()
	command := append([]string{path}, argv[1:]...)
	s.expectPlugins(command, env, cwd)
	p, err := loader.StartGated(loader.Command{
		Path: path, Args: argv, Env: env, Cred: cred,
		Stdin: s.cfg.Stdin, Stdout: s.cfg.Stdout, Stderr: s.cfg.Stderr,
	})
	if err != nil {
		return err
	}
	// From here on a Ctrl-C or SIGTERM is for the command, start-up
	// included: one that arrives before the command runs means it is not
	// run.
	p.ForwardSignals()
	s.tm.mark("command started (gated)")
	s.readyPlugins()
	smp, err := loader.OpenSampler(loader.SamplerConfig{PID: p.PID, Freq: s.cfg.Freq, EnableOnExec: true, OnOpen: s.onOpen, RingPages: s.ringPages})
	if err != nil {
		p.Abort()
		return fmt.Errorf("open samplers: %w", err)
	}
	s.sampler = smp
	s.tm.mark("samplers open")
	if err := s.attachPlugins(ctx, Target{PID: p.PID, Path: path, Events: smp.Events(), Symbolizer: s.sym, Cred: s.cred, Command: command, Env: env, Dir: cwd}); err != nil {
		p.Abort()
		smp.Close()
		return err
	}
	s.tm.mark("plugins attached")
	s.startReading()
	s.window.open()
	s.start = s.window.wallStart
	if ctx.Err() != nil {
		// Interrupted during start-up (maybe before ForwardSignals
		// listened): the command is not run.
		p.Abort()
		s.stopReading()
		return usage.Errorf("interrupted before the command ran: nothing was traced")
	}
	if err := p.Release(); err != nil {
		p.Wait()
		s.stopReading()
		var ie *loader.InterruptedError
		if errors.As(err, &ie) {
			return usage.Errorf("%v: nothing was traced", err)
		}
		return usage.Errorf("cannot run %s: %v", argv[0], err)
	}
	s.tm.mark("command released")
	stopStatus := s.showStatus(fmt.Sprintf("tracing %s (pid %d)", filepath.Base(argv[0]), p.PID))
	s.waitCommand(ctx, p)
	stopStatus()
	st, werr := p.Wait()
	s.res.Exit = &st
	s.res.Duration = s.window.close()
	s.tm.mark("command ended")
	if err := s.stopReading(); err != nil {
		return err
	}
	s.tm.mark("reading stopped")
	return werr
}

// waitCommand waits for the command to end. After ctx is cancelled (the
// signal itself was passed on by ForwardSignals or by the terminal) it
// waits killGrace, then sends SIGTERM, then SIGKILL.
func (s *session) waitCommand(ctx context.Context, p *loader.Process) {
	select {
	case <-p.Done():
		return
	case <-ctx.Done():
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		select {
		case <-p.Done():
			return
		case <-time.After(killGrace):
			p.Signal(sig)
		}
	}
	<-p.Done()
}

// attach samples the running process cfg.PID.
func (s *session) attach(ctx context.Context) error {
	pid := s.cfg.PID
	cred, err := loader.ResolveUser("")
	if err != nil {
		return err
	}
	s.cred = cred
	tids, err := loader.Threads(pid)
	if err != nil {
		if errors.Is(err, loader.ErrNoProcess) {
			return usage.Errorf("no process with pid %d: check the pid with `ps -p %d`", pid, pid)
		}
		return err
	}
	s.comms = threadComms(pid, tids)
	if err := s.sym.LoadProcMaps(pid); err != nil {
		switch {
		case errors.Is(err, fs.ErrPermission):
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe
			}
			return usage.Errorf("permission to inspect pid %d denied (%v): tracer needs root or CAP_SYS_PTRACE, and a Yama or LSM policy may still forbid it", pid, err)
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH):
			return usage.Errorf("process %d exited before tracing started", pid)
		}
		return usage.Errorf("cannot read the mappings of pid %d: %v", pid, err)
	}
	s.readyPlugins()
	// The events are held until the plugins are wired to them, so that
	// every sample can carry interpreter frames.
	smp, err := loader.OpenSampler(loader.SamplerConfig{PID: pid, Freq: s.cfg.Freq, Threads: tids, Held: true, OnOpen: s.onOpen, RingPages: s.ringPages})
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return usage.Errorf("process %d exited before tracing started", pid)
		}
		return fmt.Errorf("open samplers: %w", err)
	}
	s.sampler = smp
	if err := s.attachPlugins(ctx, Target{PID: pid, Attach: true, Events: smp.Events(), Symbolizer: s.sym, Cred: s.cred}); err != nil {
		smp.Close()
		return err
	}
	s.window.open() // the samplers count from their enabling
	s.start = s.window.wallStart
	if err := smp.Enable(); err != nil {
		for _, pl := range s.cfg.Plugins {
			pl.Detach()
		}
		smp.Close()
		return err
	}
	s.startReading()
	if hint := s.sym.JITHint(pid); hint != "" && !s.readsJS(pid) {
		s.note("%s", hint)
	}
	stop := make(chan struct{})
	defer close(stop)
	exited := loader.WatchExit(pid, stop)
	var timeout <-chan time.Time
	if s.cfg.Duration > 0 {
		t := time.NewTimer(s.cfg.Duration)
		defer t.Stop()
		timeout = t.C
	}
	stopStatus := s.showStatus(fmt.Sprintf("tracing pid %d", pid))
	select {
	case <-ctx.Done():
	case <-timeout:
	case <-exited:
		s.res.Exited = true
	}
	stopStatus()
	s.res.Duration = s.window.close()
	if s.res.Exited {
		s.note("process %d exited after %.2f s", pid, s.res.Duration.Seconds())
	}
	return s.stopReading()
}

func (s *session) attachPlugins(ctx context.Context, t Target) error {
	for i, pl := range s.cfg.Plugins {
		if err := pl.Attach(ctx, t); err != nil {
			for _, prev := range s.cfg.Plugins[:i] {
				prev.Detach()
			}
			return err
		}
	}
	return nil
}

// startReading starts the samplers' readers and the goroutine that hands
// each record to the plugins and keeps it.
func (s *session) startReading() {
	if s.start.IsZero() {
		s.start = time.Now()
	}
	s.consumed = make(chan struct{})
	loader.ReleaseKernelTypes() // the plugins' programs are loaded
	s.sampler.Start()
	warm := startWarmer(s.sym)
	if s.stream != nil {
		s.stream.begin()
	}
	go func() {
		defer close(s.consumed)
		defer warm.stop()
		for rec := range s.sampler.Records() {
			if s.host != nil && !s.host.filter(rec) {
				continue
			}
			for _, pl := range s.cfg.Plugins {
				pl.Observe(rec)
			}
			warm.offer(rec)
			s.keep(rec)
		}
	}()
}

// stopReading drains the rings, detaches the plugins and closes the
// samplers. It returns the first plugin error.
func (s *session) stopReading() error {
	if s.stream != nil {
		s.stream.end()
	}
	s.sampler.Stop()
	<-s.consumed
	s.tm.mark("samplers drained")
	var first error
	for _, pl := range s.cfg.Plugins {
		if err := pl.Detach(); err != nil && first == nil {
			first = err
		}
		s.tm.mark(fmt.Sprintf("%T detached", pl))
	}
	st := s.sampler.Stats()
	s.res.Lost = st.Lost
	if st.Malformed > 0 {
		s.note("%d sampler records could not be decoded", st.Malformed)
	}
	if err := s.sampler.Close(); err != nil && first == nil {
		first = err
	}
	return first
}

// threadComms reads the names of the threads of pid.
func threadComms(pid int, tids []int) map[int]string {
	m := map[int]string{}
	for _, tid := range tids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/comm", pid, tid))
		if err == nil {
			m[tid] = strings.TrimSpace(string(b))
		}
	}
	return m
}
