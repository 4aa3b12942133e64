package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracer-dev/tracer/internal/privtest"
	"github.com/tracer-dev/tracer/internal/testbin"
)

// tracerIn runs the tracer binary in dir and returns its exit code and
// stderr.
func tracerIn(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(tracerBin, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stderr.String()
	}
	if err != nil {
		t.Fatalf("run tracer: %v", err)
	}
	return 0, stderr.String()
}

func TestRunPassesExitStatus(t *testing.T) {
	dir := t.TempDir()
	burn := testbin.Burner(t, dir)
	code, stderr := tracerIn(t, dir, "run", "-o", "p.pb.gz", "--", burn, "0.2", "5")
	if code != 5 || !strings.Contains(stderr, "command exited with status 5") {
		t.Errorf("exit %d, stderr:\n%s\nwant 5 and the status reported", code, stderr)
	}
	if p := testbin.ReadProfile(t, filepath.Join(dir, "p.pb.gz")); len(p.Sample) == 0 {
		t.Error("no samples")
	}
	code, stderr = tracerIn(t, dir, "run", "-o", "-", "--", "sh", "-c", "kill -KILL $$")
	if code != 128+9 || !strings.Contains(stderr, "killed by signal SIGKILL") {
		t.Errorf("exit %d, stderr:\n%s\nwant 137 and killed by signal SIGKILL", code, stderr)
	}
}

func TestRunInterruptLeavesValidProfile(t *testing.T) {
	dir := t.TempDir()
	burn := testbin.Burner(t, dir)
	cmd := exec.Command(tracerBin, "run", "-F", "499", "-o", "int.pb.gz", "--folded", "int.folded", "--", burn, "60")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 128+int(syscall.SIGINT) {
		t.Errorf("tracer ended with %v, want exit 130 (the command killed by SIGINT); stderr:\n%s", err, stderr.String())
	}
	p := testbin.ReadProfile(t, filepath.Join(dir, "int.pb.gz"))
	found := false
	for _, f := range p.Function {
		found = found || f.Name == "burn_three"
	}
	if len(p.Sample) < 10 || !found {
		t.Errorf("profile after Ctrl-C: %d samples, burn_three present %v", len(p.Sample), found)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "int.folded")); err != nil || !strings.Contains(string(b), "burn_three") {
		t.Errorf("folded file after Ctrl-C: %v %.200s", err, b)
	}
	if ents, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(ents) > 0 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestRunAndAttachUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", []string{"run"}, "run needs a command"},
		{"command not found", []string{"run", "--", "no-such-command-xyz"}, "command not found: no-such-command-xyz"},
		{"frequency zero", []string{"run", "-F", "0", "--", "true"}, "invalid frequency 0 Hz"},
		{"frequency too high", []string{"run", "-F", "10001", "--", "true"}, "invalid frequency 10001 Hz"},
		{"malformed pid", []string{"attach", "--pid", "12ab"}, `invalid pid "12ab"`},
		{"negative pid", []string{"attach", "--pid", "-3"}, `invalid pid "-3"`},
		{"absent pid", []string{"attach", "--pid", "1073741823"}, "no process with pid 1073741823"},
		{"missing pid", []string{"attach"}, "pid"},
		{"unknown user", []string{"run", "--user", "no-such-user-xyz", "--", "true"}, `unknown user "no-such-user-xyz"`},
	} {
		code, stderr := tracerIn(t, dir, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tc.name, code, stderr, tc.want)
		}
		if lines := strings.Count(strings.TrimSpace(stderr), "\n"); lines > 0 && tc.name != "missing pid" {
			t.Errorf("%s: %d lines on stderr, want one:\n%s", tc.name, lines+1, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "profile.pb.gz")); err == nil {
		t.Error("a failed command wrote a profile")
	}
}

func TestAttachCLI(t *testing.T) {
	dir := t.TempDir()
	burn := exec.Command(testbin.Burner(t, dir), "20")
	if err := burn.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		burn.Process.Kill()
		burn.Wait()
	}()
	pid := burn.Process.Pid
	code, stderr := tracerIn(t, dir, "attach", "--pid", strconv.Itoa(pid), "--duration", "1s", "-o", "a.pb.gz")
	if code != 0 || !strings.Contains(stderr, "burn_three") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	p := testbin.ReadProfile(t, filepath.Join(dir, "a.pb.gz"))
	if len(p.Sample) == 0 || p.Sample[0].NumLabel["pid"][0] != int64(pid) {
		t.Errorf("%d samples; want samples of pid %d", len(p.Sample), pid)
	}
}

func TestRunUnderSudoRunsAsInvokingUser(t *testing.T) {
	privtest.Root(t, "needs root, as under sudo")
	dir := t.TempDir()
	cmd := exec.Command(tracerBin, "run", "-o", "sudo.pb.gz", "--folded", "sudo.folded", "--", "sh", "-c", "id -u; echo $USER $HOME")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SUDO_UID=65534", "SUDO_GID=65534", "SUDO_USER=nobody")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tracer: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != "65534\nnobody /nonexistent" {
		t.Errorf("command ran as %q, want the sudo user 65534 with USER nobody and HOME /nonexistent", got)
	}
	for _, name := range []string{"sudo.pb.gz", "sudo.folded"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != 65534 || st.Gid != 65534 || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: owner %d:%d mode %v, want 65534:65534 0644", name, st.Uid, st.Gid, fi.Mode().Perm())
		}
	}
}

func TestRunWithoutPrivilege(t *testing.T) {
	privtest.Root(t, "needs root to start tracer as an unprivileged user")
	dir, err := os.MkdirTemp("", "tracer-nopriv-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "tracer")
	b, err := os.ReadFile(tracerBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	for _, args := range [][]string{{"run", "-o", "-", "--", "true"}, {"attach", "--pid", "1", "--duration", "1s"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%v as nobody: %v, want exit 2", args, err)
		}
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "\n") || !strings.Contains(msg, "needs root, or CAP_PERFMON, CAP_BPF and CAP_SYS_PTRACE") || !strings.Contains(msg, "sudo") {
			t.Errorf("%v as nobody: stderr %q, want one line saying to use sudo", args, msg)
		}
	}
}
