package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/export/report"
	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/model"
	"github.com/tracer-dev/tracer/session"
	"github.com/tracer-dev/tracer/verify"
)

func htmlFlag() cli.Flag {
	return &cli.StringFlag{Name: "html",
		Usage: "also write the HTML report (verdict, per-action latency, flame graph by action; any browser, no network) to `FILE.html`"}
}

// htmlReport is a page that run or attach writes once the session ends. The
// page is built from the profile and the trace on disk: when the user asked
// for neither file, they are written to a temporary directory and removed.
type htmlReport struct {
	path        string
	target      string // the traced program (run: argv[0] resolved; attach: /proc/PID/exe)
	interpreter string
	command     []string
	profile     string
	trace       string
	tmp         string
}

// prepareHTML readies the page of --html, if given: it checks that the page
// can be written, chooses where the profile and the trace go, and records
// the interpreter's version in the profile. It returns the trace path the
// transitions plugin is to write ("" for none).
func prepareHTML(c *cli.Context, cfg *session.Config, target string, command []string) (*htmlReport, string, error) {
	trace := c.String("trace")
	path := c.String("html")
	if path == "" {
		return nil, trace, nil
	}
	if err := export.ProbeWritable(path); err != nil {
		return nil, "", usage.Errorf("cannot write %s (%v): give --html a file in a writable directory", path, err)
	}
	h := &htmlReport{path: path, target: target, command: command, profile: cfg.Output, trace: trace}
	if cfg.Output == "-" || trace == "" {
		dir, err := os.MkdirTemp("", "tracer-html-")
		if err != nil {
			return nil, "", err
		}
		h.tmp = dir
		if cfg.Output == "-" {
			cfg.Output = filepath.Join(dir, "profile.pb.gz")
			h.profile = cfg.Output
		}
		if trace == "" {
			h.trace = filepath.Join(dir, "trace.jsonl")
		}
	}
	h.interpreter = verify.InterpreterVersion(c.Context, target)
	if h.interpreter != "" {
		cfg.Comments = append(cfg.Comments, "interpreter: "+h.interpreter)
	}
	return h, h.trace, nil
}

// close removes the temporary files.
func (h *htmlReport) close() {
	if h != nil && h.tmp != "" {
		os.RemoveAll(h.tmp)
	}
}

// write builds and writes the page after the session; user is the --user
// flag (the page belongs to the same user as the other outputs).
func (h *htmlReport) write(c *cli.Context, tr *session.Transitions, user string) error {
	if h == nil {
		return nil
	}
	rel, _ := model.ParseRelation(c.String("relation"))
	stats := tr.CaptureStats()
	im := report.Impl{
		Name:        implName(h.target),
		Command:     h.command,
		Interpreter: h.interpreter,
		Capture:     stats.String(),
		CaptureLost: stats.Lost(),
	}
	if p, err := report.ReadProfile(h.profile); err == nil {
		im.Profile = p
		if !strings.HasPrefix(h.profile, h.tmp+"/") || h.tmp == "" {
			im.ProfilePath = h.profile
		}
	}
	if st, err := os.Stat(h.trace); err == nil && st.Size() > 0 && tr.Verdict().Captured {
		im.TracePath = h.trace
		if h.tmp != "" && strings.HasPrefix(h.trace, h.tmp+"/") {
			im.TraceLabel = "the captured trace (not kept: give --trace FILE to keep it)"
		}
	}
	in := report.Input{Relation: rel, Command: commandLine(os.Args), Date: time.Now(), Impls: []report.Impl{im}}
	if im.Profile == nil && im.TracePath == "" {
		return fmt.Errorf("report %s: no profile and no trace to show", h.path)
	}
	uid, gid := -1, -1
	if cred, err := loader.ResolveUser(user); err == nil && cred != nil {
		uid, gid = int(cred.UID), int(cred.GID)
	}
	if _, err := writeReport(h.path, uid, gid, in); err != nil {
		if errors.Is(err, report.ErrInput) {
			return cli.Exit(fmt.Sprintf("report %s: %v", h.path, err), exitUsage)
		}
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "report: %s\n", h.path)
	return nil
}

// implName names the implementation after its interpreter: "python" for
// python3.11, "node" for node.
func implName(target string) string {
	base := filepath.Base(target)
	switch {
	case strings.HasPrefix(base, "python"):
		return "python"
	case base == "node" || base == "nodejs":
		return "node"
	case base == "." || base == "/":
		return "the program"
	}
	return base
}

// attachTarget is the executable of a running process, for its name and
// version on the page.
func attachTarget(pid int) string {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return ""
	}
	return exe
}
