package verify

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/export/report"
)

// writeHTML writes Out/report.html: both verdicts, the per-action
// latencies and the flame graphs of what the run left in Out. A page that
// cannot be built is said in the summary; it does not change the verdict.
func (r *Result) writeHTML(cfg Config, uid, gid int) {
	in := report.Input{
		Relation: cfg.Relation,
		Command:  cfg.Command,
		Date:     time.Now(),
		Problems: r.Problems(),
	}
	if in.Command == "" {
		in.Command = cfg.commandLine()
	}
	for _, im := range r.Impls {
		ri := report.Impl{
			Name:        im.Name,
			Command:     im.Command,
			Interpreter: im.Interpreter,
			Capture:     im.Capture.String(),
			CaptureLost: im.Capture.Lost(),
		}
		if p, err := report.ReadProfile(im.Profile); err == nil {
			ri.Profile, ri.ProfilePath = p, im.Profile
		}
		if st, err := os.Stat(im.Trace); err == nil && st.Size() > 0 {
			ri.TracePath = im.Trace
		}
		if ri.Profile == nil && ri.TracePath == "" {
			continue
		}
		in.Impls = append(in.Impls, ri)
	}
	path := filepath.Join(cfg.Out, "report.html")
	pg, err := report.Build(in)
	if err == nil {
		err = export.WriteFile(path, uid, gid, func(w io.Writer) error { return pg.Write(w) })
	}
	if err != nil {
		r.HTMLErr = err.Error()
		fmt.Fprintf(cfg.Log, "  report.html not written: %v\n", err)
		return
	}
	r.HTML = path
}

// commandLine is the verify command line the flags amount to.
func (c *Config) commandLine() string {
	s := "tracer verify"
	if c.Actions != "" {
		s += " --actions " + c.Actions
	} else {
		s += fmt.Sprintf(" --steps %d --seed %d", c.Steps, c.Seed)
	}
	return s + fmt.Sprintf(" -F %d --relation %s --out %s", c.Freq, c.Relation, c.Out)
}
