package hooks

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// ProcessReport is what the hook in one process (or Node thread) wrote at
// its exit.
type ProcessReport struct {
	PID             int      `json:"pid"`
	Python          string   `json:"python"` // the Python version, for a Python process
	Node            string   `json:"node"`   // the Node version, for a Node process
	Argv            []string `json:"argv"`
	Found           []string `json:"found"` // the definitions observed: "name (file:line)"
	Calls           uint64   `json:"calls"`
	Steps           uint64   `json:"steps"`
	Raised          uint64   `json:"raised"`
	Unreadable      uint64   `json:"unreadable"`
	FirstUnreadable string   `json:"first_unreadable"`
	Errors          uint64   `json:"errors"`
	FirstError      string   `json:"first_error"`
}

// Report sums the reports of every process that loaded a hook.
type Report struct {
	Name                                     string // the --transition name
	Processes                                []ProcessReport
	Failed                                   []string // hooks that could not start: "pid N: why"
	Calls, Steps, Raised, Unreadable, Errors uint64
	FirstUnreadable, FirstError              string
}

// maxReport bounds what is read of one report file (they are a few hundred
// bytes; the directory belongs to the traced user).
const maxReport = 64 << 10

// Report reads the reports the hooks wrote so far (all of them once the
// command has ended).
func (in *Install) Report() Report {
	r := Report{Name: in.Spec.Name}
	ents, err := os.ReadDir(in.ReportDir)
	if err != nil {
		return r
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	for _, e := range ents {
		name := e.Name()
		b, err := readSmall(filepath.Join(in.ReportDir, name))
		if err != nil {
			continue
		}
		switch {
		case strings.HasSuffix(name, ".failed"):
			r.Failed = append(r.Failed, fmt.Sprintf("%s: %s", strings.TrimSuffix(name, ".failed"), firstLine(string(b))))
		case strings.HasSuffix(name, ".json"):
			var p ProcessReport
			if json.Unmarshal(b, &p) != nil {
				continue
			}
			r.add(p)
		}
	}
	return r
}

func (r *Report) add(p ProcessReport) {
	r.Processes = append(r.Processes, p)
	r.Calls += p.Calls
	r.Steps += p.Steps
	r.Raised += p.Raised
	r.Unreadable += p.Unreadable
	r.Errors += p.Errors
	if r.FirstUnreadable == "" {
		r.FirstUnreadable = p.FirstUnreadable
	}
	if r.FirstError == "" {
		r.FirstError = p.FirstError
	}
}

// readSmall reads a report without following a symbolic link.
func readSmall(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return io.ReadAll(io.LimitReader(f, maxReport))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// Notes are the lines worth telling the user after a run: calls that could
// not be read (with the first example), hooks that failed, errors of the
// binding.
func (r Report) Notes() []string {
	var out []string
	for _, f := range r.Failed {
		out = append(out, "the transition hook could not start in "+f)
	}
	if r.Unreadable > 0 {
		out = append(out, fmt.Sprintf("%s of %s could not be read: %s (see docs/transition-hooks.md for the conventions)", plural(r.Unreadable, "call"), r.Name, r.FirstUnreadable))
	}
	if r.Errors > 0 {
		out = append(out, fmt.Sprintf("%s of %s could not be recorded: %s", plural(r.Errors, "call"), r.Name, r.FirstError))
	}
	if r.Raised > 0 {
		out = append(out, fmt.Sprintf("%s of %s raised an exception and are not steps", plural(r.Raised, "call"), r.Name))
	}
	return out
}

// WhyNone says why no step was recorded, when none was.
func (r Report) WhyNone() string {
	switch {
	case len(r.Processes) == 0 && len(r.Failed) == 0:
		return fmt.Sprintf("no Python or Node process loaded the transition hook for %s (is the command a python3 or node program? python -I and -E ignore PYTHONPATH)", r.Name)
	case r.Calls == 0:
		var progs []string
		for _, p := range r.Processes {
			if len(progs) < 3 {
				progs = append(progs, fmt.Sprintf("pid %d", p.PID))
			}
		}
		return fmt.Sprintf("no function named %s was called (%s with the hook: %s); name it as it is defined, or module:name / file.js:name", r.Name, plural(uint64(len(r.Processes)), "process"), strings.Join(progs, ", "))
	case r.Unreadable > 0 && r.Unreadable+r.Raised >= r.Calls:
		return fmt.Sprintf("%s of %s, none could be read: %s", plural(r.Calls, "call"), r.Name, r.FirstUnreadable)
	case r.Raised >= r.Calls:
		return fmt.Sprintf("every one of the %s of %s raised an exception", plural(r.Calls, "call"), r.Name)
	}
	return ""
}

func plural(n uint64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "s") {
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
