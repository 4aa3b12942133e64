package session

import (
	"github.com/tracer-dev/tracer/loader"
	"github.com/tracer-dev/tracer/symbolize"
)

// warmPID is the made-up process the warmer files mappings under. The
// symbolizer shares parsed files between processes (by path and inode, and
// by build ID), so a file opened for warmPID is found again when the real
// process's mapping is added after tracing.
const warmPID = -1

// warmer does while the target runs, on tracer's own goroutine, the work
// that symbolizing its samples after it has ended would otherwise start
// with: it opens the files the target maps (so a file the program deletes
// before it exits, a `go run` binary, is still named), and for each sampled
// address reads the symbol and line tables of
// the file it falls in (symbolize.Warm; files never sampled are never
// read). On the node container that is most of the time between the
// command's exit and tracer's (reading node's 79 000 symbols, decompressing
// libc's DWARF). The order of records does not matter here, and a mapping
// of one process that another replaced only costs a file read in vain; the
// samples are named with the records in time order later.
type warmer struct {
	sym  *symbolize.Symbolizer
	in   chan loader.Record // samples, for the low-priority table reads
	maps chan *loader.Mmap  // mappings, opened at normal priority and never dropped
	done chan struct{}
	open chan struct{}
}

func startWarmer(sym *symbolize.Symbolizer) *warmer {
	w := &warmer{
		sym: sym, in: make(chan loader.Record, 1024), maps: make(chan *loader.Mmap, 4096),
		done: make(chan struct{}), open: make(chan struct{}),
	}
	// Opening a mapped file is cheap and must happen before the program
	// can delete it: it runs at normal priority and sees every mapping.
	go func() {
		defer close(w.open)
		for r := range w.maps {
			sym.AddMapping(warmPID, symbolize.Mapping{
				Start: r.Start, Limit: r.Start + r.Len, Offset: r.Offset, Path: r.Path, Inode: r.Inode,
			})
		}
	}()
	go func() {
		defer close(w.done)
		for rec := range w.in {
			if r, ok := rec.(*loader.Sample); ok {
				sym.Warm(warmPID, r.User)
				sym.LookPerfMap(r.PID)
			}
		}
	}()
	return w
}

// offer passes a mapping or a sample on. A sample never blocks the record
// reader: when the warmer is behind, its work is done after tracing instead.
func (w *warmer) offer(rec loader.Record) {
	switch r := rec.(type) {
	case *loader.Mmap:
		w.maps <- r // rare: a full queue waits rather than lose a file
		return
	case *loader.Sample:
		if len(r.User) == 0 {
			return
		}
	default:
		return
	}
	select {
	case w.in <- rec:
	default:
	}
}

// stop waits for the records offered so far.
func (w *warmer) stop() {
	close(w.maps)
	close(w.in)
	<-w.open
	<-w.done
}
