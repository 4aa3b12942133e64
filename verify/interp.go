package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tracer-dev/tracer/internal/usage"
)

// realPython returns the interpreter binary behind python: pyenv's `python3`
// is a shell script that picks and execs the real interpreter at run time,
// which tracer can only follow once it has started. Naming the binary itself
// lets the uprobe be placed before the container starts, so no early batch
// can slip past. When python cannot tell, python is returned unchanged.
func realPython(ctx context.Context, python string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return python
	}
	exe := strings.TrimSpace(string(out))
	if st, err := os.Stat(exe); err != nil || st.IsDir() {
		return python
	}
	return exe
}

// checkWorkload has the Python container read the workload file without
// running it (--emit-actions), so a bad line is reported, with its line
// number, before anything is traced.
func checkWorkload(ctx context.Context, python, container, actions string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, container, "--actions", actions, "--emit-actions")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 2 {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		msg = strings.TrimPrefix(msg, "python_container: ")
		return usage.Errorf("bad workload: %s", msg)
	}
	if err != nil {
		return fmt.Errorf("read workload %s with %s: %w", actions, python, err)
	}
	return nil
}

// InterpreterVersion asks a Python or Node.js interpreter for its version
// ("Python 3.11.7", "node v20.19.2"); "" when exe is neither or does not
// answer within 15 seconds. Nothing else is run: a program that is not
// an interpreter might not know --version.
func InterpreterVersion(ctx context.Context, exe string) string {
	base := filepath.Base(exe)
	isNode := base == "node" || base == "nodejs"
	if !isNode && !strings.HasPrefix(base, "python") {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "--version")
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	if err != nil {
		return ""
	}
	v := strings.TrimSpace(string(out))
	if i := strings.IndexByte(v, '\n'); i >= 0 {
		v = v[:i]
	}
	if isNode && strings.HasPrefix(v, "v") {
		v = "node " + v
	}
	return v
}
