package verify

import (
	"runtime"
	"testing"

	"github.com/tracer-dev/tracer/internal/testbin"
)

// Locked in an init function, the main goroutine runs TestMain on the main
// thread: the exec shim must exec there.
func init() { runtime.LockOSThread() }

// TestMain lets the test binary serve as the exec shim and the release
// helper when it re-executes itself.
func TestMain(m *testing.M) { testbin.RunOrServe(m) }
