package symbolize

import (
	"strconv"
	"strings"
)

// jitFrame turns a perf map name into a frame.
//
// Node (V8) names look like "JS:*transition /path/app.js:1:20": a kind, a
// tier mark (* optimized, ~ interpreted, ^ baseline, + maglev), the function
// name (possibly empty, or with a space as in "get foo") and the script
// location. They become Function "transition", File "/path/app.js", Line 1.
// Older V8 used "LazyCompile:" and "Function:" for the same thing. Builtins,
// bytecode handlers and stubs keep their full name ("Builtin:ArrayPush").
//
// Python 3.12+ (-X perf) names look like "py::qualname:/path/file.py" and
// become Function "qualname", File "/path/file.py".
func jitFrame(addr uint64, name string) Frame {
	f := Frame{Addr: addr, Kind: JIT, Module: jitModule, Function: name}
	if rest, ok := strings.CutPrefix(name, "py::"); ok {
		fn, file, _ := strings.Cut(rest, ":")
		if fn != "" {
			f.Function, f.File = fn, file
		}
		return f
	}
	kind, rest, ok := strings.Cut(name, ":")
	if !ok {
		return f
	}
	switch kind {
	case "JS", "LazyCompile", "Function", "Eval", "Script":
	default:
		return f
	}
	if rest != "" && strings.ContainsRune("*~^+", rune(rest[0])) {
		rest = rest[1:]
	}
	fn, loc := rest, ""
	if i := strings.LastIndexByte(rest, ' '); i >= 0 {
		if file, line, ok := splitLocation(rest[i+1:]); ok {
			fn, loc = rest[:i], file
			f.Line = line
		}
	}
	fn = strings.TrimSpace(fn)
	if fn == "" {
		fn = "(anonymous)"
	}
	f.Function, f.File = fn, loc
	return f
}

// splitLocation splits "file:line:col" (or "file:line") into file and line.
func splitLocation(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return "", 0, false
	}
	last, err := strconv.Atoi(s[i+1:])
	if err != nil || last < 0 {
		return "", 0, false
	}
	head := s[:i]
	j := strings.LastIndexByte(head, ':')
	if j > 0 {
		if line, err := strconv.Atoi(head[j+1:]); err == nil && line >= 0 {
			return head[:j], line, true
		}
	}
	return head, last, true
}
