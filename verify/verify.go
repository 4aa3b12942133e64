package verify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tracer-dev/tracer/capture"
	"github.com/tracer-dev/tracer/capture/hooks"
	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/model"
	"github.com/tracer-dev/tracer/session"
)

// Defaults of `tracer verify` with no flags.
const (
	DefaultSteps = 50000
	DefaultSeed  = 1
	DefaultOut   = "out"
	DefaultFreq  = 999
)

// Config is one verification.
type Config struct {
	Steps   int    // steps of the generated workload (ignored with Actions)
	Seed    uint64 // seed of the generated workload
	Actions string // a workload file (one action per line) instead of Steps and Seed
	Out     string // directory for profiles, traces and summary.txt
	Freq    int    // sampling frequency
	// Relation is what the checks demand; both relations are always reported.
	Relation model.Relation
	Python   string // the Python interpreter, "python3" by default
	Node     string // the node executable, "node" by default
	// PythonContainer and NodeContainer replace the embedded example
	// containers with programs of one's own that take the same flags.
	PythonContainer, NodeContainer string
	User                           string // run the containers as this user (see session.Config.User)
	// Transition, when set, observes the function it names in the
	// containers given by PythonContainer and NodeContainer through the
	// --transition hooks, so they need not use the probe binding (the
	// embedded examples always report through it).
	Transition *hooks.Spec

	// Command is tracer's own command line, for the report; "" makes one
	// from the flags.
	Command string

	// Log receives progress and the summary; nil means os.Stderr.
	Log           io.Writer
	LogIsTerminal bool

	// Tuning passed to each session (see session.Config and
	// session.TransitionsConfig); zero means the defaults.
	SamplerRingPages int
	CaptureRingBytes uint32
	Timing           bool
}

// Impl is what one implementation did under tracing.
type Impl struct {
	Name        string // "python" or "node"
	Command     []string
	Profile     string // pprof file
	Trace       string // the captured trace-format trace
	Session     session.Result
	Verdict     session.Verdict
	Capture     capture.CaptureStats
	Report      string // what the session printed: profile summary, per-action table, live verdict
	Interpreter string // the interpreter's version ("Python 3.11.7"), when it told
	Steps       uint64 // steps captured
	ExitError   string // how the container failed, when it did
}

// Result is the outcome of a verification.
type Result struct {
	Impls    []Impl
	Pair     *model.Result // nil when a trace could not be read
	PairErr  string
	Expected uint64 // steps each container was asked to run; 0 with Actions
	Summary  string // path of summary.txt
	HTML     string // path of report.html; "" when it could not be written
	// HTMLErr says why report.html could not be written.
	HTMLErr string
}

// Divergent reports whether any check found a divergence.
func (r *Result) Divergent() bool {
	for _, im := range r.Impls {
		if im.Verdict.Divergent {
			return true
		}
	}
	return r.Pair != nil && r.Pair.Divergent()
}

// Problems lists what kept the verification from being complete: a container
// that failed, steps that were not captured, a pair that could not be read.
func (r *Result) Problems() []string {
	var out []string
	for _, im := range r.Impls {
		switch {
		case im.ExitError != "":
			out = append(out, fmt.Sprintf("%s: the container %s", im.Name, im.ExitError))
		case !im.Verdict.Captured:
			out = append(out, fmt.Sprintf("%s: no transition was captured", im.Name))
		case r.Expected > 0 && im.Steps != r.Expected:
			out = append(out, fmt.Sprintf("%s: %d of %d steps captured (%s)", im.Name, im.Steps, r.Expected, im.Capture))
		}
		if im.Capture.Lost() {
			out = append(out, fmt.Sprintf("%s: capture lost data: %s", im.Name, im.Capture))
		}
		if v := im.Verdict; !v.Divergent && (v.Incomplete || v.NotATrace) {
			out = append(out, fmt.Sprintf("%s: the live check could not check every step (%s)", im.Name, v.Result.Verdict()))
		}
	}
	if r.PairErr != "" {
		out = append(out, "pair: "+r.PairErr)
	} else if r.Pair != nil && r.Pair.Verdict() == model.Incomplete {
		out = append(out, "pair: not every step could be compared (see the pair report)")
	}
	return out
}

func (c *Config) defaults() error {
	if c.Actions == "" && c.Steps <= 0 {
		return usage.Errorf("invalid --steps %d: give a positive number of steps", c.Steps)
	}
	if c.Seed > 1<<32-1 {
		return usage.Errorf("invalid --seed %d: give a seed from 0 to 4294967295", c.Seed)
	}
	if c.Actions != "" {
		abs, err := filepath.Abs(c.Actions)
		if err != nil {
			return usage.Errorf("workload %s: %v", c.Actions, err)
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() {
			return usage.Errorf("cannot read workload %s: give a file of actions, one JSON object per line", c.Actions)
		}
		c.Actions = abs
	}
	for _, p := range []*string{&c.PythonContainer, &c.NodeContainer} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return usage.Wrap(err)
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() {
			return usage.Errorf("cannot read container %s: give the path of a program that takes --steps, --seed and --actions", *p)
		}
		*p = abs
	}
	if c.Out == "" {
		c.Out = DefaultOut
	}
	if c.Freq == 0 {
		c.Freq = DefaultFreq
	}
	if c.Python == "" {
		c.Python = "python3"
	}
	if c.Node == "" {
		c.Node = "node"
	}
	if c.Log == nil {
		c.Log = os.Stderr
	}
	return nil
}

// Run verifies both containers and writes Out/{python,node}.{pb.gz,jsonl} and
// Out/summary.txt. Cancelling ctx (Ctrl-C) stops the running container; what
// was gathered is still checked and written.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.defaults(); err != nil {
		return Result{}, err
	}
	cred, err := loader.ResolveUser(cfg.User)
	if err != nil {
		return Result{}, usage.Wrap(err)
	}
	uid, gid := -1, -1
	if cred != nil {
		uid, gid = int(cred.UID), int(cred.GID)
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return Result{}, usage.Errorf("cannot create output directory %s: %v", cfg.Out, err)
	}
	if uid >= 0 {
		if err := os.Chown(cfg.Out, uid, gid); err != nil {
			return Result{}, fmt.Errorf("output directory %s: %w", cfg.Out, err)
		}
	}
	tmp, err := os.MkdirTemp("", "tracer-verify-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(tmp)
	if err := unpack(tmp); err != nil {
		return Result{}, err
	}

	hooked := map[string]bool{"python": cfg.PythonContainer != "", "node": cfg.NodeContainer != ""}
	if cfg.Transition != nil && !hooked["python"] && !hooked["node"] {
		return Result{}, usage.Errorf("--transition observes your own containers: give --python-container FILE or --node-container FILE")
	}
	if cfg.PythonContainer == "" {
		cfg.PythonContainer = filepath.Join(tmp, "examples", "python_container.py")
	}
	if cfg.NodeContainer == "" {
		cfg.NodeContainer = filepath.Join(tmp, "examples", "nodejs_container.js")
	}

	python := realPython(ctx, cfg.Python)
	if cfg.Actions != "" {
		if err := checkWorkload(ctx, python, filepath.Join(tmp, "examples", "python_container.py"), cfg.Actions); err != nil {
			return Result{}, err
		}
	}

	var res Result
	if cfg.Actions == "" {
		res.Expected = uint64(cfg.Steps)
	}
	impls := []struct{ name, interp, script string }{
		{"python", python, cfg.PythonContainer},
		{"node", cfg.Node, cfg.NodeContainer},
	}
	for i, im := range impls {
		cmd := []string{im.interp, im.script}
		if cfg.Actions != "" {
			cmd = append(cmd, "--actions", cfg.Actions)
		} else {
			cmd = append(cmd, "--steps", strconv.Itoa(cfg.Steps), "--seed", strconv.FormatUint(cfg.Seed, 10))
		}
		fmt.Fprintf(cfg.Log, "verify [%d/3] %s: tracer run -- %s %s\n", i+1, im.name, im.interp, strings.Join(cmd[1:], " "))
		var hook *hooks.Spec
		if hooked[im.name] {
			hook = cfg.Transition
		}
		out, err := runOne(ctx, cfg, im.name, cmd, hook)
		if err != nil {
			return res, err
		}
		fmt.Fprintf(cfg.Log, "  %s\n", out.line(res.Expected))
		res.Impls = append(res.Impls, out)
		if ctx.Err() != nil {
			break
		}
	}

	fmt.Fprintf(cfg.Log, "verify [3/3] pair: tracer check %s %s\n", res.tracePath(0), res.tracePath(1))
	res.checkPair(cfg.Relation)
	if res.Pair != nil {
		fmt.Fprintf(cfg.Log, "  %s\n", pairLine(res.Pair))
	} else {
		fmt.Fprintf(cfg.Log, "  not checked: %s\n", res.PairErr)
	}

	res.writeHTML(cfg, uid, gid)

	res.Summary = filepath.Join(cfg.Out, "summary.txt")
	text := res.summaryText(cfg)
	if err := export.WriteFile(res.Summary, uid, gid, func(w io.Writer) error {
		_, err := io.WriteString(w, text)
		return err
	}); err != nil {
		return res, fmt.Errorf("write summary: %w", err)
	}
	return res, nil
}

// runOne traces one container with `tracer run`'s machinery.
func runOne(ctx context.Context, cfg Config, name string, cmd []string, hook *hooks.Spec) (Impl, error) {
	im := Impl{
		Name:    name,
		Command: cmd,
		Profile: filepath.Join(cfg.Out, name+".pb.gz"),
		Trace:   filepath.Join(cfg.Out, name+".jsonl"),
	}
	command := append([]string(nil), cmd...)
	if p, err := loader.LookPath(command[0], os.Environ()); err == nil {
		command[0] = p
	} else {
		return im, usage.Errorf("%s: %v (install it or give --%s PATH)", name, err, name)
	}
	im.Interpreter = InterpreterVersion(ctx, command[0])
	var comments []string
	if im.Interpreter != "" {
		comments = append(comments, "interpreter: "+im.Interpreter)
	}
	var report bytes.Buffer
	tr := session.NewTransitions(session.TransitionsConfig{
		Relation: cfg.Relation,
		Trace:    im.Trace,
		Command:  command,
		Log:      &report,

		CaptureRingBytes: cfg.CaptureRingBytes,
		Hook:             hook,
	})
	stop := progress(cfg, name)
	res, err := session.Run(ctx, session.Config{
		Command:  command,
		Freq:     cfg.Freq,
		Output:   im.Profile,
		User:     cfg.User,
		Log:      &report,
		Comments: comments,
		// Python and JS frames first, as `tracer run` has them: each
		// finds no interpreter in the other's container and stays out of
		// the way.
		Plugins: append(interpreterFrames(&report), tr),

		SamplerRingPages: cfg.SamplerRingPages,
		Timing:           cfg.Timing,
	})
	stop()
	im.Session = res
	im.Report = report.String()
	if err != nil {
		if usage.Is(err) {
			return im, usage.Errorf("%s: %v", name, err)
		}
		return im, fmt.Errorf("%s: %w", name, err)
	}
	im.Verdict = tr.Verdict()
	im.Capture = tr.CaptureStats()
	im.Steps = im.Verdict.Steps
	if st := res.Exit; st != nil && st.ShellCode() != 0 {
		im.ExitError = st.String()
	}
	return im, nil
}

// progress shows, on a terminal, how long the container has been running.
func progress(cfg Config, name string) (stop func()) {
	if !cfg.LogIsTerminal {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(cfg.Log, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprintf(cfg.Log, "\r\033[K  %s: running %.1f s", name, time.Since(start).Seconds())
			}
		}
	}()
	return func() { close(done); <-finished }
}

func (r *Result) tracePath(i int) string {
	if i < len(r.Impls) {
		return r.Impls[i].Trace
	}
	return "(not run)"
}

// checkPair checks the two captured traces against each other.
func (r *Result) checkPair(rel model.Relation) {
	if len(r.Impls) < 2 {
		r.PairErr = "a container did not run"
		return
	}
	var decs []*model.Decoder
	for _, im := range r.Impls {
		f, err := os.Open(im.Trace)
		if err != nil {
			r.PairErr = fmt.Sprintf("no trace from %s: %v", im.Name, err)
			return
		}
		defer f.Close()
		decs = append(decs, model.NewDecoder(f, im.Trace))
	}
	res, err := model.CheckPair(decs[0], decs[1], rel)
	if err != nil {
		r.PairErr = err.Error()
		return
	}
	r.Pair = &res
}

// line is the one-line outcome of one container.
func (im *Impl) line(expected uint64) string {
	r := &im.Verdict.Result
	var b strings.Builder
	fmt.Fprintf(&b, "%d steps", im.Steps)
	if expected > 0 {
		fmt.Fprintf(&b, " of %d", expected)
	}
	switch {
	case !im.Verdict.Captured:
		b.WriteString(", no transition captured")
	case im.Verdict.Divergent:
		fmt.Fprintf(&b, ", DIVERGENT at step %d", r.First.Seq)
	default:
		b.WriteString(", conforming")
	}
	fmt.Fprintf(&b, " (exact %s, bisim %s); %d samples, %d lost; %d batches, %s",
		held(r, model.Exact), held(r, model.Bisim), im.Session.Samples, im.Session.Lost,
		im.Capture.Batches, lostWord(im.Capture))
	if im.ExitError != "" {
		fmt.Fprintf(&b, "; container %s", im.ExitError)
	}
	return b.String()
}

func lostWord(c capture.CaptureStats) string {
	if c.Lost() {
		return "some lost (see summary)"
	}
	return "none lost"
}

func held(r *model.Result, rel model.Relation) string {
	if r.Checked == 0 {
		return "not checked"
	}
	if r.Held(rel) {
		return "held"
	}
	return "failed"
}

func pairLine(r *model.Result) string {
	if r.First == nil && r.Divergent() {
		return fmt.Sprintf("DIVERGENT: %d invalid records: %d steps compared", r.Invalid, r.Checked)
	}
	if !r.Divergent() {
		return fmt.Sprintf("%s: %d steps compared (exact %s, bisim %s)", r.Verdict(), r.Checked, held(r, model.Exact), held(r, model.Bisim))
	}
	return fmt.Sprintf("DIVERGENT at step %d: %d steps compared (exact %s, bisim %s)", r.First.Seq, r.Checked, held(r, model.Exact), held(r, model.Bisim))
}

// summaryText is summary.txt: per implementation the session's own report,
// then the pair, then the verdict.
func (r *Result) summaryText(cfg Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "tracer verify: ")
	if cfg.Actions != "" {
		fmt.Fprintf(&b, "workload %s", cfg.Actions)
	} else {
		fmt.Fprintf(&b, "--steps %d --seed %d", cfg.Steps, cfg.Seed)
	}
	fmt.Fprintf(&b, ", -F %d, --relation %s\n", cfg.Freq, cfg.Relation)
	for _, im := range r.Impls {
		fmt.Fprintf(&b, "\n== %s: %s\n", im.Name, strings.Join(im.Command, " "))
		fmt.Fprintf(&b, "%s\n", im.line(r.Expected))
		fmt.Fprintf(&b, "capture: %s\n\n", im.Capture)
		b.WriteString(im.Report)
	}
	fmt.Fprintf(&b, "\n== pair: %s ~ %s\n", r.tracePath(0), r.tracePath(1))
	if r.Pair != nil {
		r.Pair.WriteText(&b)
	} else {
		fmt.Fprintf(&b, "not checked: %s\n", r.PairErr)
	}
	switch {
	case r.HTML != "":
		fmt.Fprintf(&b, "\n== report: %s (open it in a browser)\n", r.HTML)
	case r.HTMLErr != "":
		fmt.Fprintf(&b, "\n== report: not written: %s\n", r.HTMLErr)
	}
	fmt.Fprintf(&b, "\n== verdict: %s\n", r.Verdict())
	for _, p := range r.Problems() {
		fmt.Fprintf(&b, "  incomplete: %s\n", p)
	}
	return b.String()
}

// Verdict is the one-word outcome.
func (r *Result) Verdict() string {
	switch {
	case r.Divergent():
		return "DIVERGENT"
	case len(r.Problems()) > 0:
		return "INCOMPLETE"
	default:
		return "CONFORMING"
	}
}

// interpreterFrames are the plugins that read Python and JS frames, as
// `tracer run` has them (the JS walker is dispatched by the Python one's
// program).
func interpreterFrames(log io.Writer) []session.Plugin {
	py := session.NewPythonFrames(log)
	return []session.Plugin{py, session.NewJSFrames(log, py)}
}
