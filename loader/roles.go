package loader

import "os"

// RunHelperRole runs the role the tracer binary was re-executed in, if any:
// the exec shim of StartGated, or the release helper of CloseLinks, each
// chosen by its marker variable. It returns the process's exit status and
// true for a helper, false otherwise. main calls it first, and so does the
// TestMain of every test binary that starts a traced command or closes
// uprobes (the binary re-executes itself). The caller's main goroutine must
// be locked to the main thread (runtime.LockOSThread in an init function):
// the shim's exec must happen on the thread the samplers follow.
func RunHelperRole() (code int, ok bool) {
	switch {
	case os.Getenv(shimEnv) != "":
		runShim() // execs the command, or exits
		return 127, true
	case os.Getenv(releaseEnv) != "":
		runReleaseHelper()
		return 0, true
	case os.Getenv(keeperEnv) != "":
		return runKeeper(), true
	}
	return 0, false
}
