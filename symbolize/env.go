package symbolize

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// NodeJITOptions makes node write /tmp/perf-PID.map with the names of its
// JavaScript functions, and keep interpreted functions visible as frames of
// their own on the native stack.
//
// It uses --perf-basic-prof-only-functions rather than --perf-basic-prof:
// node 20's --perf-basic-prof also writes an isolate-*-v8.log file into the
// working directory of the traced program, and the extra entries it adds
// (builtins, bytecode handlers) are already named by node's own symbol
// table (Builtins_*). Both are accepted in NODE_OPTIONS.
const NodeJITOptions = "--perf-basic-prof-only-functions --interpreted-frames-native-stack"

// IsNode reports whether argv0 names the node executable.
func IsNode(argv0 string) bool {
	base := filepath.Base(argv0)
	return base == "node" || base == "nodejs"
}

// WithNodeJIT returns env with NodeJITOptions added to NODE_OPTIONS, after
// the options the user already set there.
func WithNodeJIT(env []string) []string {
	out := make([]string, 0, len(env)+1)
	user := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "NODE_OPTIONS="); ok {
			user = v
			continue
		}
		out = append(out, kv)
	}
	opts := NodeJITOptions
	if strings.TrimSpace(user) != "" {
		opts = user + " " + NodeJITOptions
	}
	return append(out, "NODE_OPTIONS="+opts)
}

// JITHint returns one line telling how to get JIT function names for an
// attached node process that has written no perf map, or "" when a map
// exists or the process is not node. (Python frames come from the
// interpreter's memory, not from a perf map.)
func (s *Symbolizer) JITHint(pid int) string {
	if s.HasPerfMap(pid) {
		return ""
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return ""
	}
	base := filepath.Base(strings.TrimSuffix(exe, deletedSuffix))
	if IsNode(base) {
		return fmt.Sprintf("no JS function names: node (pid %d) writes no %s; start it with NODE_OPTIONS=%q", pid, s.PerfMapPath(pid), NodeJITOptions)
	}
	return ""
}
