package session

import (
	"os"
	"strings"
	"syscall"

	"github.com/tracer-dev/tracer/loader"
)

// causesPerfMaps reports whether tracer's NODE_OPTIONS (symbolize.WithNodeJIT)
// is what makes the command's node processes write perf maps: not when the
// user's own NODE_OPTIONS already asks for them.
func causesPerfMaps(env []string) bool {
	user := envValue(env, "NODE_OPTIONS")
	return !strings.Contains(user, "--perf-basic-prof") && !strings.Contains(user, "--perf-prof")
}

// removePerfMaps removes the perf maps (/tmp/perf-PID.map) that node
// processes of the run wrote because tracer asked them to, once the
// samples are symbolized: those of every process the samplers saw, when
// the file is a plain file owned by the command's user.
func (s *session) removePerfMaps() {
	seen := map[int]bool{}
	for _, r := range s.records {
		switch r := r.(type) {
		case *loader.Comm:
			seen[r.PID] = true
		case *loader.Fork:
			seen[r.PID] = true
		case *loader.Mmap:
			seen[r.PID] = true
		case *loader.Sample:
			seen[r.PID] = true
		}
	}
	uid := uint32(os.Getuid())
	if s.cred != nil {
		uid = s.cred.UID
	}
	for pid := range seen {
		path := s.sym.PerfMapPath(pid)
		var st syscall.Stat_t
		if err := syscall.Lstat(path, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Uid != uid {
			continue
		}
		os.Remove(path)
	}
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}
