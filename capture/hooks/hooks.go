// Package hooks owns the `--transition` hooks: the small Python and Node
// programs that tracer injects into the traced command so that every call of
// the named transition function becomes a step of the trace format
// (docs/trace-format.md), reported through the probe binding and so captured
// by the same uprobe as a program that uses the binding itself.
//
// The hook files are embedded in tracer. Install writes them to a private
// directory; Install.Env gives the environment that makes the interpreters
// load them (Python: a sitecustomize directory first on PYTHONPATH, which
// chains to the program's own sitecustomize; Node: NODE_OPTIONS=--require,
// after the user's own options, which also registers a module loader hook
// for ES modules on Node 20.6+). Each process that loaded a hook leaves a
// small report in the directory at exit (calls seen, steps recorded, calls
// that could not be read and why); Install.Report reads them.
//
// The conventions by which states and actions are read are in
// docs/transition-hooks.md.
package hooks

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/tracer-dev/tracer/probe"
)

//go:embed python/sitecustomize.py python/tracer_transition_hook.py node/hook.cjs node/transform.cjs node/loader.mjs
var files embed.FS

// The environment variables the hooks read.
const (
	EnvTransition = "TRACER_TRANSITION"      // the function's name (--transition)
	EnvArgs       = "TRACER_TRANSITION_ARGS" // the state and action parameters (--transition-args)
	EnvReport     = "TRACER_HOOK_REPORT"     // the directory of the per-process reports
)

// Spec is what the command line asks for: the function and, optionally,
// which of its parameters are the state and the action.
type Spec struct {
	// Name is "name", "Class.name", or "module:qualname" / "file.js:name".
	Name string
	// Args names the state and the action parameters ("self", "action");
	// nil means the first two parameters.
	Args []string
}

// ErrSpec marks a malformed --transition or --transition-args.
var ErrSpec = errors.New("bad transition spec")

// ParseSpec checks --transition NAME and --transition-args A,B.
func ParseSpec(name, args string) (Spec, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Spec{}, fmt.Errorf("%w: --transition needs the name of a function, such as transition or module:transition", ErrSpec)
	}
	if strings.IndexFunc(name, unicode.IsSpace) >= 0 || strings.ContainsAny(name, "\"'()") {
		return Spec{}, fmt.Errorf("%w: --transition %q: give a function name (name, Class.name, module:name or file.js:name)", ErrSpec, name)
	}
	last := name[strings.LastIndexAny(name, ":.")+1:]
	if !isIdent(last) {
		return Spec{}, fmt.Errorf("%w: --transition %q does not end in a function name", ErrSpec, name)
	}
	s := Spec{Name: name}
	if strings.TrimSpace(args) == "" {
		return s, nil
	}
	parts := strings.Split(args, ",")
	if len(parts) != 2 {
		return Spec{}, fmt.Errorf("%w: --transition-args %q: give two parameter names, the state's and the action's (for a method: self,action)", ErrSpec, args)
	}
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
		if !isIdent(parts[i]) {
			return Spec{}, fmt.Errorf("%w: --transition-args %q: %q is not a parameter name", ErrSpec, args, parts[i])
		}
	}
	s.Args = parts
	return s, nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || r == '$' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r)) {
			continue
		}
		return false
	}
	return true
}

// Install is a directory holding the hooks for one run.
type Install struct {
	Spec Spec
	Dir  string // root-owned (when tracer is root), readable by all
	// ReportDir receives the reports; it belongs to the command's user.
	ReportDir string
}

// New writes the hooks and the probe bindings into a new directory under
// the system's temporary directory. uid and gid, when not negative, own the
// report directory (the user the command runs as).
func New(spec Spec, uid, gid int) (*Install, error) {
	dir, err := os.MkdirTemp("", "tracer-hooks-")
	if err != nil {
		return nil, fmt.Errorf("transition hooks: %w", err)
	}
	in := &Install{Spec: spec, Dir: dir, ReportDir: filepath.Join(dir, "report")}
	if err := in.write(uid, gid); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("transition hooks: %w", err)
	}
	return in, nil
}

func (in *Install) write(uid, gid int) error {
	if err := os.Chmod(in.Dir, 0o755); err != nil {
		return err
	}
	put := func(src fs.FS, from, to string) error {
		b, err := fs.ReadFile(src, from)
		if err != nil {
			return err
		}
		to = filepath.Join(in.Dir, to)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	}
	for _, f := range []string{"python/sitecustomize.py", "python/tracer_transition_hook.py", "node/hook.cjs", "node/transform.cjs", "node/loader.mjs"} {
		if err := put(files, f, f); err != nil {
			return err
		}
	}
	// Each hook reports through the binding, a copy beside it.
	if err := put(probe.Files, "python/tracer_probe.py", "python/tracer_probe.py"); err != nil {
		return err
	}
	if err := put(probe.Files, "node/tracer_probe.js", "node/tracer_probe.js"); err != nil {
		return err
	}
	if err := os.Mkdir(in.ReportDir, 0o700); err != nil {
		return err
	}
	if uid >= 0 && gid >= 0 {
		return os.Chown(in.ReportDir, uid, gid)
	}
	return nil
}

// Close removes the directory.
func (in *Install) Close() error {
	if in == nil || in.Dir == "" {
		return nil
	}
	return os.RemoveAll(in.Dir)
}

// PythonPath is the directory to put first on PYTHONPATH.
func (in *Install) PythonPath() string { return filepath.Join(in.Dir, "python") }

// NodeHook is the file to preload with --require.
func (in *Install) NodeHook() string { return filepath.Join(in.Dir, "node", "hook.cjs") }

// Env returns env with the hooks switched on: PYTHONPATH starts with the
// hook's sitecustomize directory (the user's own entries follow),
// NODE_OPTIONS ends with --require of the Node hook (after the user's own
// options), and the hooks' own variables are set.
func (in *Install) Env(env []string) []string {
	out := make([]string, 0, len(env)+5)
	var pyPath, nodeOpts string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "PYTHONPATH":
			pyPath = v
		case "NODE_OPTIONS":
			nodeOpts = v
		case EnvTransition, EnvArgs, EnvReport:
		default:
			out = append(out, kv)
		}
	}
	pp := in.PythonPath()
	if pyPath != "" {
		pp += string(os.PathListSeparator) + pyPath
	}
	opt := "--require " + quoteNodeOption(in.NodeHook())
	if strings.TrimSpace(nodeOpts) != "" {
		opt = nodeOpts + " " + opt
	}
	out = append(out, "PYTHONPATH="+pp, "NODE_OPTIONS="+opt, EnvTransition+"="+in.Spec.Name, EnvReport+"="+in.ReportDir)
	if len(in.Spec.Args) == 2 {
		out = append(out, EnvArgs+"="+strings.Join(in.Spec.Args, ","))
	}
	return out
}

// quoteNodeOption quotes a path for NODE_OPTIONS when it needs it (Node
// splits the variable at spaces outside double quotes).
func quoteNodeOption(p string) string {
	if !strings.ContainsAny(p, " \t\"\\") {
		return p
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(p) + `"`
}
