package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/tracer-dev/tracer/model"
)

// Impl is what one implementation left behind: its profile, its trace, and
// what the run knew about it. Any of Profile and TracePath may be missing,
// not both.
type Impl struct {
	Name        string           // "python", "node"; "" takes the file's base name
	Profile     *profile.Profile // nil when there is none
	ProfilePath string           // where Profile was read from, for the page
	TracePath   string           // the trace (docs/trace-format.md); "" when none
	// TraceLabel is what the page calls the trace (its path by default),
	// for a trace kept only while the page was built.
	TraceLabel  string
	Command     []string // the traced command line, when known
	Interpreter string   // e.g. "Python 3.11.7", "node v20.19.2"; "" when unknown
	// Capture is the capture's counters as the run printed them ("183
	// batches captured …"); "" when unknown (a report built from files
	// reads what the profile's comments say).
	Capture     string
	CaptureLost bool // some batch was lost or rejected
}

// Input is everything one page is built from.
type Input struct {
	Impls []Impl // one or two
	// Relation is what the checks demand (the verdict's relation); both
	// relations are always shown. Zero means exact.
	Relation model.Relation
	Command  string    // the tracer command line that made the run
	Date     time.Time // when the run was made; zero: now
	// Problems are what kept the run from being complete (a container that
	// failed, steps not captured); they make the verdict INCOMPLETE.
	Problems []string
}

// ErrInput marks input the user must fix: an unreadable or malformed
// profile or trace, nothing to report, three implementations.
var ErrInput = errors.New("bad report input")

type inputError struct{ msg string }

func (e inputError) Error() string        { return e.msg }
func (e inputError) Is(target error) bool { return target == ErrInput }

func inputErrorf(format string, args ...any) error {
	return inputError{fmt.Sprintf(format, args...)}
}

// ReadProfile reads a pprof profile (gzipped or not) for a report; errors
// are ErrInput and say what to give instead.
func ReadProfile(path string) (*profile.Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, inputErrorf("cannot read profile %s: %v", path, unwrapPath(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, inputErrorf("%s is a directory: give a pprof profile (.pb.gz)", path)
	}
	p, err := profile.Parse(f)
	if err != nil {
		return nil, inputErrorf("%s is not a pprof profile (%v): give a .pb.gz written by tracer run, attach or verify", path, err)
	}
	return p, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Build reads the traces of in, checks them against the model (and against
// each other for two implementations), aggregates the profiles, and
// returns the page. Its errors are ErrInput.
func Build(in Input) (*Page, error) {
	if len(in.Impls) == 0 {
		return nil, inputErrorf("nothing to report: give a profile or a trace")
	}
	if len(in.Impls) > 2 {
		return nil, inputErrorf("%d implementations: a report shows one or two", len(in.Impls))
	}
	if in.Relation != model.Bisim {
		in.Relation = model.Exact
	}
	date := in.Date
	if date.IsZero() {
		date = time.Now()
	}
	pg := &Page{
		Title:    "tracer report",
		Command:  in.Command,
		Date:     date.Format("2006-01-02 15:04:05 MST"),
		Relation: in.Relation.String(),
		Problems: append([]string(nil), in.Problems...),
	}
	var runs []*implRun
	for i := range in.Impls {
		im := in.Impls[i]
		if im.Profile == nil && im.TracePath == "" {
			return nil, inputErrorf("implementation %d has neither a profile nor a trace", i+1)
		}
		if im.Name == "" {
			im.Name = defaultName(im, i)
		}
		r := &implRun{Impl: im}
		if im.TracePath != "" {
			if err := r.readTrace(in.Relation); err != nil {
				return nil, err
			}
		}
		if im.Profile != nil {
			r.readProfile()
			r.fromComments()
		}
		runs = append(runs, r)
	}
	if len(runs) == 2 && runs[0].Name == runs[1].Name {
		runs[0].Name += " (A)"
		runs[1].Name += " (B)"
	}
	if len(runs) == 2 && runs[0].TracePath != "" && runs[1].TracePath != "" {
		// Two traces that cannot be compared (no step in common) leave
		// each one's own verdict standing: the page says why.
		pair, err := checkPair(runs[0].Impl, runs[1].Impl, in.Relation)
		if err != nil {
			pg.Problems = append(pg.Problems, "the pair was not checked: "+err.Error())
		}
		pg.pair = pair
	}
	pg.fill(runs)
	return pg, nil
}

// defaultName names an implementation after its trace or profile file:
// "python" for python.jsonl or python.pb.gz.
func defaultName(im Impl, i int) string {
	path := im.TracePath
	if path == "" {
		path = im.ProfilePath
	}
	base := filepath.Base(path)
	for _, ext := range []string{".jsonl", ".pb.gz", ".pb", ".pprof", ".gz", ".json"} {
		base = strings.TrimSuffix(base, ext)
	}
	if base == "" || base == "." || base == "/" {
		return fmt.Sprintf("implementation %d", i+1)
	}
	return base
}

// checkPair checks two traces against each other.
func checkPair(a, b Impl, rel model.Relation) (*model.Result, error) {
	fa, err := os.Open(a.TracePath)
	if err != nil {
		return nil, inputErrorf("cannot read trace %s: %v", a.TracePath, unwrapPath(err))
	}
	defer fa.Close()
	fb, err := os.Open(b.TracePath)
	if err != nil {
		return nil, inputErrorf("cannot read trace %s: %v", b.TracePath, unwrapPath(err))
	}
	defer fb.Close()
	res, err := model.CheckPair(model.NewDecoder(fa, a.traceLabel()), model.NewDecoder(fb, b.traceLabel()), rel)
	if err != nil {
		return nil, inputErrorf("traces %s and %s: %v", a.traceLabel(), b.traceLabel(), err)
	}
	return &res, nil
}

func (im *Impl) traceLabel() string {
	if im.TraceLabel != "" {
		return im.TraceLabel
	}
	return im.TracePath
}

// Write renders p as one HTML page.
func (p *Page) Write(w io.Writer) error {
	return pageTemplate.Execute(w, p)
}
