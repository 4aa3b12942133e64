package loader

import (
	"os"
	"syscall"
)

// The gated start. StartGated runs the tracer binary itself (os.Executable)
// with shimEnv set, fd 3 the read end of the gate pipe and fd 4 the write end
// of the status pipe; os.Args[1] is the resolved command and os.Args[2:] its
// argv. The shim does all of its work in init, before main and before any
// flag parsing, so any binary that links this package (tracer, or a test
// binary) can serve as the shim:
//
//  1. it blocks reading one byte from the gate: the samplers are opened on
//     its pid meanwhile, with inherit and enable_on_exec;
//  2. it marks the status pipe close-on-exec, removes shimEnv and execs the
//     command: the kernel enables the samplers at that execve;
//  3. if the exec fails it writes the error to the status pipe and exits
//     127; a successful exec closes the pipe without a byte.
//
// Go runs package initialisation on the main thread, so the exec happens on
// the thread whose tid is the pid the samplers follow.
const shimEnv = "TRACER_EXEC_SHIM"

const (
	shimGateFD   = 3
	shimStatusFD = 4
	gateByte     = 'g'
)

func init() {
	if os.Getenv(shimEnv) == "" {
		return
	}
	runShim()
}

func runShim() {
	var b [1]byte
	n, _ := syscall.Read(shimGateFD, b[:])
	if n != 1 || b[0] != gateByte {
		os.Exit(126) // the tracer gave up before releasing the command
	}
	syscall.Close(shimGateFD)
	syscall.CloseOnExec(shimStatusFD)
	os.Unsetenv(shimEnv)
	if len(os.Args) < 3 {
		syscall.Write(shimStatusFD, []byte("shim: no command"))
		os.Exit(127)
	}
	err := syscall.Exec(os.Args[1], os.Args[2:], os.Environ())
	syscall.Write(shimStatusFD, []byte(err.Error()))
	os.Exit(127)
}
