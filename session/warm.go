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

// warmer opens the files the target maps while it runs, and loads the
// kernel symbols, instead of after it has ended: symbolizing a run then
// starts with libpython's symbols and DWARF already parsed (about 0.4 s of
// the tracer's wall time otherwise), and a file the program deletes before
// it exits (a `go run` binary) is still named. The order of mappings does
// not matter here; the samples are placed with the records in time order
// later.
type warmer struct {
	sym  *symbolize.Symbolizer
	in   chan *loader.Mmap
	done chan struct{}
}

func startWarmer(sym *symbolize.Symbolizer) *warmer {
	w := &warmer{sym: sym, in: make(chan *loader.Mmap, 1024), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		sym.Kernel(0) // loads /proc/kallsyms
		for m := range w.in {
			sym.AddMapping(warmPID, symbolize.Mapping{
				Start: m.Start, Limit: m.Start + m.Len, Offset: m.Offset, Path: m.Path, Inode: m.Inode,
			})
		}
	}()
	return w
}

// offer passes a mapping on without ever blocking the record reader; when
// the warmer is behind, the file is opened after tracing instead.
func (w *warmer) offer(m *loader.Mmap) {
	select {
	case w.in <- m:
	default:
	}
}

// stop waits for the mappings offered so far.
func (w *warmer) stop() {
	close(w.in)
	<-w.done
}
