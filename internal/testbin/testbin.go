// Package testbin builds the tracer binary once for the end-to-end tests of a
// package (cmd/tracer, probe, examples), so that they run the real command
// line exactly as a user does.
package testbin

import (
	"fmt"
	gobuild "go/build"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Root is the repository's top directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Main builds tracer into a temporary directory, stores its path in *bin,
// runs the tests and removes the directory again. It returns the exit code
// for os.Exit; a failed build fails every test with the compiler's output.
func Main(run func() int, bin *string) int {
	dir, err := os.MkdirTemp("", "tracer-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 2
	}
	defer os.RemoveAll(dir)
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(gobuild.Default.GOROOT, "bin", "go")
	}
	*bin = filepath.Join(dir, "tracer")
	build := exec.Command(goTool, "build", "-o", *bin, "./cmd/tracer")
	build.Dir = Root()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build tracer: %v\n%s", err, out)
		return 2
	}
	return run()
}
