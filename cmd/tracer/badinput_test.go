package main

import (
	"bytes"
	"context"
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
)

// The bad-input matrix: every way a user can get the command line
// wrong, run end to end through the built binary. Each case must end with
// exit 2 and one line on stderr that names the problem and says what to do,
// must not panic or hang, and must leave no output file behind.

// caseTimeout bounds one tracer invocation: a case that takes longer hangs.
const caseTimeout = 60 * time.Second

// result is how one tracer invocation ended.
type result struct {
	code           int
	stdout, stderr string
}

// invocation says how to start tracer for one case.
type invocation struct {
	bin  string   // the binary; "" means tracerBin
	dir  string   // working directory
	args []string // command line after the binary
	env  []string // added to tracer's environment
	cred *syscall.Credential
}

// invoke runs tracer and fails the test when it hangs or cannot start.
func invoke(t *testing.T, in invocation) result {
	t.Helper()
	bin := in.bin
	if bin == "" {
		bin = tracerBin
	}
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, in.args...)
	cmd.Dir = in.dir
	cmd.Env = append(os.Environ(), in.env...)
	if in.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: in.cred}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("tracer %q hung: killed after %v; stderr:\n%s", in.args, caseTimeout, stderr.String())
	}
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("start tracer: %v", err)
	}
	return r
}

// noPanic fails when the output shows a Go panic or a runtime crash.
func noPanic(t *testing.T, name string, r result) {
	t.Helper()
	for _, s := range []string{r.stdout, r.stderr} {
		if strings.Contains(s, "panic:") || strings.Contains(s, "goroutine ") || strings.Contains(s, "SIGSEGV") {
			t.Errorf("%s: tracer crashed:\n%s", name, s)
		}
	}
}

// oneLine checks the shape of a usage error: exit 2, nothing on stdout, one
// line "tracer: ..." on stderr that holds every string in want.
func oneLine(t *testing.T, name string, r result, want ...string) {
	t.Helper()
	noPanic(t, name, r)
	msg := strings.TrimSuffix(r.stderr, "\n")
	if r.code != exitUsage || msg == "" || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "tracer: ") {
		t.Errorf("%s: exit %d, stderr %q; want exit 2 and one line", name, r.code, r.stderr)
		return
	}
	if r.stdout != "" {
		t.Errorf("%s: stdout %q, want nothing (the help text belongs to --help)", name, r.stdout)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: message %q does not say %q", name, msg, w)
		}
	}
}

// leftovers lists the files in dir that are not in keep: outputs or
// temporary files that a failed command must not leave.
func leftovers(t *testing.T, dir string, keep map[string]bool) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !keep[e.Name()] {
			out = append(out, e.Name())
		}
	}
	return out
}

// zombie starts a child of a short-lived parent that is never reaped while
// the parent sleeps: a pid that exists in /proc but has no threads left to
// sample. It returns the zombie's pid.
func zombie(t *testing.T) int {
	t.Helper()
	parent := exec.Command("python3", "-c", "import os, sys, time\n"+
		"pid = os.fork()\n"+
		"if pid == 0: os._exit(0)\n"+
		"print(pid, flush=True)\n"+
		"time.sleep(30)\n")
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatalf("start python3: %v", err)
	}
	t.Cleanup(func() {
		parent.Process.Kill()
		parent.Wait()
	})
	buf := make([]byte, 32)
	n, _ := out.Read(buf)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil {
		t.Fatalf("zombie pid %q: %v", buf[:n], err)
	}
	for i := 0; i < 100; i++ {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if strings.Contains(string(b), ") Z ") {
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("pid %d did not become a zombie", pid)
	return 0
}

func TestBadInputMatrix(t *testing.T) {
	privtest.Root(t, "the matrix runs tracer as root, as a user would with sudo")
	garbage := bytes.Repeat([]byte{0xFE, 'x', 0, '{', '\n'}, 200)
	// A record line longer than the decoder's bound (16 MiB).
	huge := append([]byte(`{"kind":"step","seq":1,"state":{"agent_id":"`), bytes.Repeat([]byte("a"), 17<<20)...)
	zpid := strconv.Itoa(zombie(t))
	for _, tc := range []struct {
		name  string
		args  []string
		env   []string
		files map[string][]byte // created in the working directory first
		want  []string          // the problem and what to do
	}{
		// pids
		{name: "nonexistent pid", args: []string{"attach", "--pid", "1073741823"},
			want: []string{"no process with pid 1073741823", "ps -p"}},
		{name: "malformed pid", args: []string{"attach", "--pid", "12ab"},
			want: []string{`invalid pid "12ab"`, "numeric id of a running process"}},
		{name: "negative pid", args: []string{"attach", "--pid", "-3"},
			want: []string{`invalid pid "-3"`, "numeric id"}},
		{name: "zero pid", args: []string{"attach", "--pid", "0"},
			want: []string{`invalid pid "0"`, "numeric id"}},
		{name: "empty pid", args: []string{"attach", "--pid", ""},
			want: []string{`invalid pid ""`, "numeric id"}},
		{name: "pid of an exited process", args: []string{"attach", "--pid", zpid, "--duration", "2s"},
			want: []string{"process " + zpid + " exited before tracing started"}},
		{name: "attach without a pid", args: []string{"attach", "--duration", "1s"},
			want: []string{"attach needs a process", "--pid PID"}},
		{name: "attach with an argument", args: []string{"attach", "--pid", "1", "extra"},
			want: []string{`got "extra"`, "use --pid PID"}},
		{name: "negative duration", args: []string{"attach", "--pid", "1", "--duration", "-1s"},
			want: []string{"invalid duration -1s", "positive duration"}},
		{name: "filter without --all", args: []string{"attach", "--pid", "1", "--exe", "python3"},
			want: []string{"--exe, --cgroup and --uid choose processes for --all"}},
		{name: "--all with a pid", args: []string{"attach", "--all", "--pid", "1"},
			want: []string{"either --pid or --all"}},
		{name: "--all with a bad uid", args: []string{"attach", "--all", "--uid", "root"},
			want: []string{`invalid --uid "root"`, "numeric user id"}},
		{name: "--all with a relative cgroup", args: []string{"attach", "--all", "--cgroup", "system.slice"},
			want: []string{`invalid --cgroup "system.slice"`, "/system.slice"}},
		{name: "--all with a bad glob", args: []string{"attach", "--all", "--exe", "python["},
			want: []string{`invalid --exe "python["`}},
		{name: "--all with a path for --exe", args: []string{"attach", "--all", "--exe", "/usr/bin/python3"},
			want: []string{`invalid --exe "/usr/bin/python3"`, "executable names"}},
		{name: "--all with an empty --exe", args: []string{"attach", "--all", "--exe", ","},
			want: []string{"--exe is empty"}},
		// commands
		{name: "no command", args: []string{"run"},
			want: []string{"run needs a command", "tracer run [flags] -- CMD"}},
		{name: "command not found", args: []string{"run", "--", "no-such-command-xyz"},
			want: []string{"command not found: no-such-command-xyz", "PATH"}},
		{name: "command not executable", args: []string{"run", "--", "./data.txt"}, files: map[string][]byte{"data.txt": []byte("x")},
			want: []string{"./data.txt is not an executable file", "chmod +x"}},
		{name: "command is a directory", args: []string{"run", "--", "/tmp"},
			want: []string{"/tmp is not an executable file"}},
		{name: "unknown user", args: []string{"run", "--user", "no-such-user-xyz", "--", "true"},
			want: []string{`unknown user "no-such-user-xyz"`, "existing user"}},
		// outputs
		{name: "output in a missing directory", args: []string{"run", "-o", "no/such/dir/p.pb.gz", "--", "true"},
			want: []string{"cannot write no/such/dir/p.pb.gz", "no such file or directory", "writable directory"}},
		{name: "output is a directory", args: []string{"run", "-o", "/tmp", "--", "true"},
			want: []string{"cannot write /tmp", "is a directory", "give -o a file"}},
		{name: "output on a read-only file system", args: []string{"attach", "--pid", "1", "-o", "/proc/p.pb.gz"},
			want: []string{"cannot write /proc/p.pb.gz", "give -o a file"}},
		{name: "folded unwritable", args: []string{"run", "--folded", "/sys/x.folded", "--", "true"},
			want: []string{"cannot write /sys/x.folded", "give --folded a file"}},
		{name: "trace unwritable", args: []string{"run", "--trace", "/proc/t.jsonl", "--", "true"},
			want: []string{"cannot write /proc/t.jsonl", "give --trace a file"}},
		{name: "trace is a directory", args: []string{"attach", "--pid", "1", "--trace", "/tmp"},
			want: []string{"cannot write /tmp", "is a directory", "give --trace a file"}},
		{name: "unknown relation", args: []string{"run", "--relation", "close", "--", "true"},
			want: []string{`unknown relation "close"`, "exact or bisim"}},
		{name: "empty output name", args: []string{"run", "-o", "", "--", "true"},
			want: []string{"empty output file name", "-o -"}},
		// frequency
		{name: "frequency zero", args: []string{"run", "-F", "0", "--", "true"},
			want: []string{"invalid frequency 0 Hz", "between 1 and 10000"}},
		{name: "frequency negative", args: []string{"attach", "--pid", "1", "-F", "-5"},
			want: []string{"invalid frequency -5 Hz", "between 1 and 10000"}},
		{name: "frequency too high", args: []string{"run", "-F", "10001", "--", "true"},
			want: []string{"invalid frequency 10001 Hz", "between 1 and 10000"}},
		{name: "frequency not a number", args: []string{"run", "-F", "fast", "--", "true"},
			want: []string{`invalid value "fast" for flag -F`, "tracer run --help"}},
		// the command line itself
		{name: "unknown command", args: []string{"trace", "--pid", "1"},
			want: []string{`unknown command "trace"`, "tracer --help"}},
		{name: "unknown flag of run", args: []string{"run", "--frequency", "99", "--", "true"},
			want: []string{"flag provided but not defined: -frequency", "tracer run --help"}},
		{name: "unknown flag of attach", args: []string{"attach", "--pid", "1", "-x"},
			want: []string{"flag provided but not defined: -x", "tracer attach --help"}},
		{name: "unknown flag of check", args: []string{"check", "--strict", "t.jsonl"},
			want: []string{"strict", "--help"}},
		// the kernel
		{name: "perf events missing (run)", args: []string{"run", "--", "true"}, env: []string{"TRACER_DISABLE_FEATURES=perf_event"},
			want: []string{"the kernel does not support cpu-clock sampling", "CONFIG_PERF_EVENTS"}},
		{name: "perf events missing (attach)", args: []string{"attach", "--pid", "1"}, env: []string{"TRACER_DISABLE_FEATURES=perf_event"},
			want: []string{"the kernel does not support cpu-clock sampling", "CONFIG_PERF_EVENTS"}},
		// traces given to check
		{name: "trace missing", args: []string{"check", "nosuch.jsonl"},
			want: []string{"nosuch.jsonl", "no such file", "give the path of a JSONL trace"}},
		{name: "trace is a directory", args: []string{"check", "/tmp"},
			want: []string{"/tmp is a directory", "give the path of a JSONL trace"}},
		{name: "trace is binary", args: []string{"check", "bin.jsonl"}, files: map[string][]byte{"bin.jsonl": garbage},
			want: []string{"malformed trace", "bin.jsonl:1"}},
		{name: "trace is empty", args: []string{"check", "empty.jsonl"}, files: map[string][]byte{"empty.jsonl": nil},
			want: []string{"empty trace", "one JSON record per line"}},
		{name: "trace line too long", args: []string{"check", "huge.jsonl"}, files: map[string][]byte{"huge.jsonl": huge},
			want: []string{"huge.jsonl:1", "line longer than 16 MiB"}},
		// profiles given to diff, and verify's flags
		{name: "diff with one profile", args: []string{"diff", "a.pb.gz"},
			want: []string{"diff takes two profiles", "tracer diff A.pb.gz B.pb.gz"}},
		{name: "diff of missing profiles", args: []string{"diff", "nosuch.pb.gz", "b.pb.gz"},
			want: []string{"nosuch.pb.gz", "no such file"}},
		{name: "diff of garbage", args: []string{"diff", "bin.jsonl", "bin.jsonl"}, files: map[string][]byte{"bin.jsonl": garbage},
			want: []string{"bin.jsonl: not a pprof profile"}},
		{name: "verify with negative steps", args: []string{"verify", "--steps", "-1"},
			want: []string{"invalid --steps -1", "positive number of steps"}},
		{name: "verify with an argument", args: []string{"verify", "extra"},
			want: []string{`got "extra"`, "--steps, --seed or --actions"}},
		{name: "three traces", args: []string{"check", "a", "b", "c"},
			want: []string{"give one trace, or two traces"}},
		// the HTML report
		{name: "report without a page", args: []string{"report", "a.pb.gz"},
			want: []string{"give the page's file", "-o FILE.html"}},
		{name: "report of nothing", args: []string{"report", "-o", "r.html"},
			want: []string{"give one or two profiles, traces"}},
		{name: "report of three profiles", args: []string{"report", "a", "b", "c", "-o", "r.html"},
			want: []string{"one or two implementations"}},
		{name: "report with fewer traces", args: []string{"report", "--trace", "t.jsonl", "a.pb.gz", "b.pb.gz", "-o", "r.html"},
			want: []string{"2 profiles and 1 traces", "one trace per profile"}},
		{name: "report of a missing profile", args: []string{"report", "nosuch.pb.gz", "-o", "r.html"},
			want: []string{"cannot read profile nosuch.pb.gz", "no such file"}},
		{name: "report of garbage", args: []string{"report", "bin.pb.gz", "-o", "r.html"}, files: map[string][]byte{"bin.pb.gz": garbage},
			want: []string{"bin.pb.gz is not a pprof profile", "give a .pb.gz"}},
		{name: "report of a garbage trace", args: []string{"report", "--trace", "bin.jsonl", "-o", "r.html"}, files: map[string][]byte{"bin.jsonl": garbage},
			want: []string{"malformed trace", "bin.jsonl:1"}},
		{name: "report of an empty trace", args: []string{"report", "--trace", "empty.jsonl", "-o", "r.html"}, files: map[string][]byte{"empty.jsonl": nil},
			want: []string{"empty trace", "one JSON record per line"}},
		{name: "report unwritable", args: []string{"report", "--trace", "t.jsonl", "-o", "no/such/r.html"},
			want: []string{"cannot write no/such/r.html", "writable directory"}},
		{name: "report with an unknown flag", args: []string{"report", "a.pb.gz", "--top", "3", "-o", "r.html"},
			want: []string{"unknown flag --top", "tracer report --help"}},
		{name: "report with a bad relation", args: []string{"report", "--relation", "close", "a.pb.gz", "-o", "r.html"},
			want: []string{`unknown relation "close"`}},
		{name: "html unwritable", args: []string{"run", "--html", "/proc/r.html", "--", "true"},
			want: []string{"cannot write /proc/r.html", "give --html a file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			keep := map[string]bool{}
			for name, b := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
				keep[name] = true
			}
			r := invoke(t, invocation{dir: dir, args: tc.args, env: tc.env})
			oneLine(t, tc.name, r, tc.want...)
			if left := leftovers(t, dir, keep); len(left) > 0 {
				t.Errorf("files left behind: %v", left)
			}
		})
	}
}

// TestBadInputWithoutPrivilege runs tracer as nobody: run and attach end
// with one line naming the privilege they need, before touching anything.
func TestBadInputWithoutPrivilege(t *testing.T) {
	privtest.Root(t, "needs root to start tracer as an unprivileged user")
	bin := publicCopy(t)
	dir := filepath.Dir(bin)
	for _, args := range [][]string{
		{"run", "-o", "nobody.pb.gz", "--", "true"},
		{"attach", "--pid", strconv.Itoa(os.Getpid()), "--duration", "1s", "-o", "nobody.pb.gz"},
	} {
		r := invoke(t, invocation{bin: bin, dir: dir, args: args, cred: &syscall.Credential{Uid: 65534, Gid: 65534}})
		oneLine(t, "as nobody: "+strings.Join(args, " "), r,
			"needs root, or CAP_PERFMON, CAP_BPF and CAP_SYS_PTRACE", "run it with sudo", "setcap")
	}
	if left := leftovers(t, dir, map[string]bool{"tracer": true}); len(left) > 0 {
		t.Errorf("files left behind: %v", left)
	}
}

// publicCopy copies the tracer binary into a fresh directory that any user
// may enter and write (the test binary's own directory is private to root).
func publicCopy(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tracer-public-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(tracerBin)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "tracer")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}
