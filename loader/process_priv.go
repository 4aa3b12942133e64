package loader

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Capability bits (include/uapi/linux/capability.h).
const (
	capSysPtrace = 19
	capSysAdmin  = 21
	capPerfmon   = 38
	capBPF       = 39
)

// ErrPrivilege says tracer lacks the privilege to sample and probe.
var ErrPrivilege = errors.New("tracer needs root, or CAP_PERFMON, CAP_BPF and CAP_SYS_PTRACE: run it with sudo, or grant them with `setcap cap_perfmon,cap_bpf,cap_sys_ptrace+ep` on the tracer binary")

// CheckPrivilege returns ErrPrivilege unless the effective capabilities
// (CapEff in /proc/self/status) hold CAP_PERFMON, CAP_BPF and
// CAP_SYS_PTRACE (CAP_SYS_ADMIN stands in for the first two, as on kernels
// before 5.8).
func CheckPrivilege() error {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return fmt.Errorf("read capabilities: %w", err)
	}
	eff, err := capEff(string(b))
	if err != nil {
		return err
	}
	if !hasPrivilege(eff) {
		return ErrPrivilege
	}
	return nil
}

func hasPrivilege(eff uint64) bool {
	has := func(c uint) bool { return eff&(1<<c) != 0 }
	admin := has(capSysAdmin)
	return has(capSysPtrace) && (has(capPerfmon) || admin) && (has(capBPF) || admin)
}

func capEff(status string) (uint64, error) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			eff, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("parse CapEff %q: %w", v, err)
			}
			return eff, nil
		}
	}
	return 0, errors.New("no CapEff line in /proc/self/status")
}
