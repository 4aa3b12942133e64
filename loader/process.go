package loader

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Command is a command line to start under the samplers. No shell
// interprets it.
type Command struct {
	Path                  string      // resolved executable (see LookPath)
	Args                  []string    // argv; Args[0] as the user wrote it
	Env                   []string    // the command's environment; nil means tracer's own
	Dir                   string      // working directory; empty means tracer's own
	Stdin, Stdout, Stderr *os.File    // nil means tracer's own
	Cred                  *Credential // run as this user (HOME, USER and LOGNAME follow)
}

// ErrNotFound is returned by LookPath for a command that is not there.
var ErrNotFound = errors.New("command not found")

// LookPath resolves name as a shell would, through PATH taken from env (or
// tracer's environment when env has none). A name with a slash is used as
// it is.
func LookPath(name string, env []string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty command name", ErrNotFound)
	}
	if strings.Contains(name, "/") {
		if err := isExecutable(name); err != nil {
			return "", err
		}
		return name, nil
	}
	path, ok := envLookup(env, "PATH")
	if !ok {
		path = os.Getenv("PATH")
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if isExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s", ErrNotFound, name)
}

func isExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %s", ErrNotFound, p)
		}
		return fmt.Errorf("command %s: %w", p, err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("command %s is not an executable file", p)
	}
	return nil
}

func envLookup(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// ExitStatus is how the traced command ended.
type ExitStatus struct {
	Code   int            // exit code, when Signal is 0
	Signal syscall.Signal // the signal that killed it, or 0
}

// String says how the command ended: "exited with status 3" or "killed by
// signal SIGKILL".
func (e ExitStatus) String() string {
	if e.Signal != 0 {
		name := unix.SignalName(e.Signal)
		if name == "" {
			name = fmt.Sprintf("signal %d", int(e.Signal))
		}
		return "killed by signal " + name
	}
	return fmt.Sprintf("exited with status %d", e.Code)
}

// ShellCode is the status a shell would report: the exit code, or 128+n
// for a death by signal n.
func (e ExitStatus) ShellCode() int {
	if e.Signal != 0 {
		return 128 + int(e.Signal)
	}
	return e.Code
}

// Process is a command started by StartGated.
type Process struct {
	PID int

	cmd    *exec.Cmd
	gate   *os.File // write end: one byte releases the shim
	status *os.File // read end: exec error text, or EOF on success

	done     chan struct{}
	exit     ExitStatus
	waitErr  error
	stopSigs chan struct{}
	sigOnce  sync.Once

	// A signal passed on before Release is kept here, and the command is
	// then never run: it would reach the gated process, not the command.
	gateMu   sync.Mutex
	released bool
	pending  syscall.Signal
}

// InterruptedError is Release's error when a signal passed on by
// ForwardSignals arrived before the command ran: the command was not run.
type InterruptedError struct{ Signal syscall.Signal }

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("interrupted by %s before the command ran", unix.SignalName(e.Signal))
}

// StartGated starts c behind the shim (see process_shim.go): the process
// exists and its pid can be sampled, but the command has not been executed
// yet. Call Release once the samplers are open, or Abort to give up.
func StartGated(c Command) (*Process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find tracer executable for the exec shim: %w", err)
	}
	gateR, gateW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("gate pipe: %w", err)
	}
	statR, statW, err := os.Pipe()
	if err != nil {
		gateR.Close()
		gateW.Close()
		return nil, fmt.Errorf("status pipe: %w", err)
	}
	env := c.Env
	if env == nil {
		env = os.Environ()
	}
	env = c.Cred.userEnv(env)
	cmd := &exec.Cmd{
		Path:       self,
		Args:       append([]string{self, c.Path}, c.Args...),
		Env:        append(append([]string(nil), env...), shimEnv+"="+c.Cred.shimValue()),
		Dir:        c.Dir,
		Stdin:      orStd(c.Stdin, os.Stdin),
		Stdout:     orStd(c.Stdout, os.Stdout),
		Stderr:     orStd(c.Stderr, os.Stderr),
		ExtraFiles: []*os.File{gateR, statW},
	}
	err = cmd.Start()
	gateR.Close()
	statW.Close()
	if err != nil {
		gateW.Close()
		statR.Close()
		return nil, fmt.Errorf("start %s: %w", c.Path, err)
	}
	p := &Process{PID: cmd.Process.Pid, cmd: cmd, gate: gateW, status: statR,
		done: make(chan struct{}), stopSigs: make(chan struct{})}
	go p.wait()
	return p, nil
}

func orStd(f, std *os.File) *os.File {
	if f != nil {
		return f
	}
	return std
}

func (p *Process) wait() {
	err := p.cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		ws, _ := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			p.exit.Signal = ws.Signal()
		} else {
			p.exit.Code = ws.ExitStatus()
		}
	default:
		p.waitErr = fmt.Errorf("wait for pid %d: %w", p.PID, err)
	}
	p.sigOnce.Do(func() { close(p.stopSigs) })
	close(p.done)
}

// Release lets the shim exec the command. It returns an error when the exec
// failed (the shim then exits with status 127).
func (p *Process) Release() error {
	p.gateMu.Lock()
	sig := p.pending
	p.released = sig == 0
	p.gateMu.Unlock()
	if sig != 0 {
		p.Abort()
		return &InterruptedError{sig}
	}
	_, err := p.gate.Write([]byte{gateByte})
	p.gate.Close()
	if err != nil {
		return fmt.Errorf("release command: %w", err)
	}
	msg, err := io.ReadAll(p.status)
	p.status.Close()
	if err != nil {
		return fmt.Errorf("read exec status: %w", err)
	}
	if len(msg) > 0 {
		return fmt.Errorf("exec %s: %s", p.cmd.Args[1], msg)
	}
	return nil
}

// Abort kills the process before it has run the command, and reaps it.
func (p *Process) Abort() {
	p.gate.Close()
	p.status.Close()
	p.cmd.Process.Kill()
	<-p.done
}

// Done is closed when the process has ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for the process to end and says how it ended.
func (p *Process) Wait() (ExitStatus, error) {
	<-p.done
	return p.exit, p.waitErr
}

// Signal sends sig to the process, unless it has already been reaped.
func (p *Process) Signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal pid %d: %w", p.PID, err)
	}
	return nil
}

// ForwardSignals passes SIGINT and SIGTERM that tracer receives on to the
// process until it ends. A SIGINT is not passed on when tracer runs in the
// foreground of a terminal: Ctrl-C already reached the whole foreground
// process group, command included, and a second one would interrupt its
// handler. After the third signal the process is killed (SIGKILL), for a
// command that ignores the others.
func (p *Process) ForwardSignals() {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	fg := inTerminalForeground()
	go func() {
		defer signal.Stop(ch)
		n := 0
		for {
			select {
			case <-p.stopSigs:
				return
			case s := <-ch:
				n++
				sig := s.(syscall.Signal)
				p.gateMu.Lock()
				early := !p.released
				if early && p.pending == 0 {
					p.pending = sig
				}
				p.gateMu.Unlock()
				switch {
				case early:
					// Release will not run the command.
				case n >= 3:
					p.Signal(syscall.SIGKILL)
				case sig == syscall.SIGINT && fg:
				default:
					p.Signal(sig)
				}
			}
		}
	}()
}

// inTerminalForeground reports whether tracer's process group is the
// foreground group of its controlling terminal (whatever stdin is).
func inTerminalForeground() bool {
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return false // no controlling terminal
	}
	defer tty.Close()
	pg, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return err == nil && pg == unix.Getpgrp()
}
