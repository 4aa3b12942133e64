package verify

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"time"
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
