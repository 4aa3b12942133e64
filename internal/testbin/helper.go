package testbin

import (
	"os"
	"testing"

	"github.com/tracer-dev/tracer/loader"
)

// RunOrServe is the TestMain of a package whose tests run a traced
// command: when the test binary re-executes itself as the exec shim or the
// release helper it serves that role, otherwise it runs the tests. The
// package locks its main goroutine to the main thread in an init function
// (runtime.LockOSThread), since the shim must exec there.
func RunOrServe(m *testing.M) {
	if code, ok := loader.RunHelperRole(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}
