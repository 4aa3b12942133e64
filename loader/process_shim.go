package loader

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// The gated start. StartGated runs the tracer binary itself (os.Executable)
// with shimEnv set, fd 3 the read end of the gate pipe and fd 4 the write end
// of the status pipe; os.Args[1] is the resolved command and os.Args[2:] its
// argv. The shim runs from RunHelperRole, the first thing main (or a test
// binary's TestMain) does, before any flag parsing:
//
//  1. it blocks reading one byte from the gate: the samplers are opened on
//     its pid meanwhile, with inherit and enable_on_exec;
//  2. when shimEnv carries a credential ("UID:GID:G1,G2"), it takes on that
//     user (groups, gid, uid; in this order) — the shim itself starts as
//     root, so it can run a tracer binary the user could not read;
//  3. it marks the status pipe close-on-exec, removes shimEnv and execs the
//     command: the kernel enables the samplers at that execve;
//  4. if the exec fails it writes the error to the status pipe and exits
//     127; a successful exec closes the pipe without a byte.
//
// The caller's main goroutine is locked to the main thread (LockOSThread in
// an init function), so the exec happens on the thread whose tid is the pid
// the samplers follow.
const shimEnv = "TRACER_EXEC_SHIM"

const (
	shimGateFD   = 3
	shimStatusFD = 4
	gateByte     = 'g'
)

func runShim() {
	var b [1]byte
	n, _ := syscall.Read(shimGateFD, b[:])
	if n != 1 || b[0] != gateByte {
		os.Exit(126) // the tracer gave up before releasing the command
	}
	syscall.Close(shimGateFD)
	syscall.CloseOnExec(shimStatusFD)
	value := os.Getenv(shimEnv)
	os.Unsetenv(shimEnv)
	if len(os.Args) < 3 {
		shimFail("shim: no command")
	}
	if err := becomeUser(value); err != nil {
		shimFail(err.Error())
	}
	err := syscall.Exec(os.Args[1], os.Args[2:], os.Environ())
	shimFail(err.Error())
}

func shimFail(msg string) {
	syscall.Write(shimStatusFD, []byte(msg))
	os.Exit(127)
}

// becomeUser applies a credential in the form of Credential.shimValue.
func becomeUser(value string) error {
	parts := strings.Split(value, ":")
	if len(parts) != 3 {
		return nil // "1": stay who we are
	}
	uid, err1 := strconv.Atoi(parts[0])
	gid, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return fmt.Errorf("shim: bad credential %q", value)
	}
	groups := []int{}
	for _, g := range strings.Split(parts[2], ",") {
		if n, err := strconv.Atoi(g); err == nil {
			groups = append(groups, n)
		}
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("set groups %v: %w", groups, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("set gid %d: %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("set uid %d: %w", uid, err)
	}
	return nil
}
