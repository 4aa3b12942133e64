package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracer-dev/tracer/internal/privtest"
	"github.com/tracer-dev/tracer/internal/testbin"
)

// summaryLine is the sampling summary of a finished session.
var summaryLine = regexp.MustCompile(`(?m)^(\d+) samples in [0-9.]+ s \(.*\), (\d+) lost$`)

func TestFaultPidExitsDuringAttach(t *testing.T) {
	privtest.Root(t, "needs root to attach")
	dir := t.TempDir()
	for i, delay := range []string{"0", "0.005", "0.01", "0.02", "0.05", "0.1", "0.3"} {
		// A Python process (so the capture looks for its interpreter too)
		// that ends on its own while tracer is attaching; it is reaped at
		// once, so its pid disappears rather than lingering as a zombie.
		target := exec.Command("python3", "-c", "import time; time.sleep("+delay+")")
		if err := target.Start(); err != nil {
			t.Fatal(err)
		}
		reaped := make(chan struct{})
		go func() {
			target.Wait()
			close(reaped)
		}()
		time.Sleep(20 * time.Millisecond) // python3 is past its exec
		out := fmt.Sprintf("p%d.pb.gz", i)
		r := invoke(t, invocation{dir: dir, args: []string{"attach", "--pid", strconv.Itoa(target.Process.Pid),
			"--duration", "5s", "-F", "999", "-o", out, "--trace", fmt.Sprintf("t%d.jsonl", i)}})
		<-reaped
		name := "exit after " + delay + " s"
		noPanic(t, name, r)
		t.Logf("%s: exit %d, %s", name, r.code, strings.SplitN(r.stderr, "\n", 2)[0])
		switch r.code {
		case exitUsage:
			oneLine(t, name, r)
			msg := r.stderr
			if !strings.Contains(msg, "no process with pid") && !strings.Contains(msg, "exited before tracing started") &&
				!strings.Contains(msg, "check that the process still runs") {
				t.Errorf("%s: exit 2 with %q; want it to say the process is gone", name, msg)
			}
			if _, err := os.Stat(filepath.Join(dir, out)); err == nil {
				t.Errorf("%s: exit 2 but %s was written", name, out)
			}
		case exitOK:
			m := summaryLine.FindStringSubmatch(r.stderr)
			if m == nil || !strings.Contains(r.stderr, fmt.Sprintf("process %d exited after", target.Process.Pid)) {
				t.Errorf("%s: exit 0 without a complete report (the summary line and the exit):\n%s", name, r.stderr)
			}
			testbin.ReadProfile(t, filepath.Join(dir, out))
		default:
			t.Errorf("%s: exit %d; stderr:\n%s", name, r.code, r.stderr)
		}
	}
	if ents, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(ents) > 0 {
		t.Errorf("temporary files left: %v", ents)
	}
}
