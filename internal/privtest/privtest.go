// Package privtest decides, for every test that needs a kernel feature or a
// privilege, whether its absence skips the test or fails it. By default a
// missing feature skips with its reason; with TRACER_TEST_REQUIRE_KERNEL=1
// (set by .ci/run on machines that must have every feature) it fails, so a
// run that lacks privilege cannot pass by skipping.
package privtest

import (
	"errors"
	"os"
	"testing"
)

// RequireKernelEnv, set to 1, turns every missing feature into a failure.
const RequireKernelEnv = "TRACER_TEST_REQUIRE_KERNEL"

// Require skips t (or fails it, under RequireKernelEnv=1) with the first
// non-nil error of checks, which say why what needs is not available.
func Require(t testing.TB, what string, checks ...error) {
	t.Helper()
	for _, err := range checks {
		if err == nil {
			continue
		}
		if os.Getenv(RequireKernelEnv) == "1" {
			t.Fatalf("%s: %v (%s=1: this machine must have it)", what, err, RequireKernelEnv)
		}
		t.Skipf("%s: %v", what, err)
	}
}

// errNotRoot says the test does not run as root.
var errNotRoot = errors.New("not running as root")

// Root requires that the test runs as root (what says why it must).
func Root(t testing.TB, what string) {
	t.Helper()
	var err error
	if os.Geteuid() != 0 {
		err = errNotRoot
	}
	Require(t, what, err)
}
