package session

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/tracer-dev/tracer/export"
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/symbolize"
)

// finish puts the records in time order, symbolizes the samples and writes
// the outputs and the summary.
func (s *session) finish() error {
	prof := s.profile()
	for i := range prof.Samples {
		s.res.Samples += prof.Samples[i].Weight()
	}
	s.tm.mark("symbolized")
	if s.cfg.Output != "-" {
		if err := s.write(s.cfg.Output, func(w io.Writer) error { return export.WritePprof(w, prof) }); err != nil {
			return err
		}
	}
	s.tm.mark("pprof written")
	if s.cfg.Folded != "" {
		if err := s.write(s.cfg.Folded, func(w io.Writer) error { return export.WriteFolded(w, prof) }); err != nil {
			return err
		}
	}
	s.res.Summary = export.Summarize(prof, s.cfg.Top)
	s.res.Summary.Write(s.log)
	for _, pl := range s.cfg.Plugins {
		if r, ok := pl.(Reporter); ok {
			r.Report(s.log, prof)
		}
	}
	if len(s.res.Outputs) > 0 {
		fmt.Fprintf(s.log, "wrote %s\n", strings.Join(s.res.Outputs, ", "))
	}
	return nil
}

// write writes one output file atomically, owned by the session's user.
func (s *session) write(path string, fn func(io.Writer) error) error {
	uid, gid := -1, -1
	if s.cred != nil {
		uid, gid = int(s.cred.UID), int(s.cred.GID)
	}
	if err := export.WriteFile(path, uid, gid, fn); err != nil {
		return err
	}
	s.res.Outputs = append(s.res.Outputs, path)
	return nil
}

// profile replays the records in time order: mappings, execs and forks
// update the symbolizer before the samples that follow them are resolved.
// With a continuous export, the records left since its last interval are
// exported and the profile is the whole run's (stream.go).
func (s *session) profile() *export.Profile {
	if s.stream != nil {
		return s.stream.final()
	}
	recs := s.records
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].RecordTime() < recs[j].RecordTime() })
	comms := map[int]string{}
	for tid, c := range s.comms {
		comms[tid] = c
	}
	prof := &export.Profile{
		Mappings: map[int][]symbolize.Mapping{},
		Freq:     s.cfg.Freq,
		Start:    s.start,
		Duration: s.res.Duration,
		Lost:     s.res.Lost,
	}
	prof.Comments = s.profileComments()
	var pids map[int]bool
	prof.Samples, pids = s.replay(recs, comms, s.decorators())
	for _, pid := range slices.Sorted(maps.Keys(pids)) {
		prof.Mappings[pid] = s.sym.Mappings(pid)
	}
	return prof
}

// profileComments are the lines of the profile's comments: the command
// line and the session's own.
func (s *session) profileComments() []string {
	var out []string
	if len(s.cfg.Command) > 0 {
		out = append(out, "command: "+strings.Join(s.cfg.Command, " "))
	}
	return append(out, s.cfg.Comments...)
}

// decorators returns the plugins that decorate samples.
func (s *session) decorators() []Decorator {
	var decorators []Decorator
	for _, pl := range s.cfg.Plugins {
		if d, ok := pl.(Decorator); ok {
			decorators = append(decorators, d)
		}
	}
	return decorators
}

// replay symbolizes and decorates the samples of recs, which are in time
// order; comms holds the thread names, updated as records name threads. It
// returns the samples and the pids they came from.
func (s *session) replay(recs []loader.Record, comms map[int]string, decorators []Decorator) ([]export.Sample, map[int]bool) {
	var samples []export.Sample
	pids := map[int]bool{}
	var kernel [][]uint64
	for _, rec := range recs {
		if r, ok := rec.(*loader.Sample); ok && len(r.Kernel) > 0 && s.window.holds(r.Time) {
			kernel = append(kernel, r.Kernel)
		}
	}
	for _, c := range loader.OwnKernelCode() { // gone from kallsyms once closed
		s.sym.AddBPFCode(c.Addr, c.Size, c.Name)
	}
	s.sym.PrepareKernel(kernel) // one read of kallsyms names them all
	for _, rec := range recs {
		switch r := rec.(type) {
		case *loader.Mmap:
			s.sym.AddMapping(r.PID, symbolize.Mapping{
				Start: r.Start, Limit: r.Start + r.Len, Offset: r.Offset, Path: r.Path, Inode: r.Inode,
			})
		case *loader.Comm:
			if r.Exec {
				s.sym.Exec(r.PID)
			}
			comms[r.TID] = r.Name
		case *loader.Fork:
			if r.PID != r.PPID {
				s.sym.Fork(r.PPID, r.PID)
			}
			if c, ok := comms[r.PTID]; ok {
				comms[r.TID] = c
			}
		case *loader.Sample:
			if !s.window.holds(r.Time) {
				continue // taken after the run's duration was measured
			}
			out := export.Sample{PID: r.PID, TID: r.TID, Period: r.Period, Comm: comms[r.TID]}
			if out.Comm == "" {
				out.Comm = comms[r.PID]
			}
			out.Stack = s.sym.StackAt(r.PID, r.Kernel, r.User, r.Time)
			for _, d := range decorators {
				d.Decorate(r, &out)
			}
			samples = append(samples, out)
			pids[r.PID] = true
		}
	}
	return samples, pids
}
