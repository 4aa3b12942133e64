package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracer-dev/tracer/model"
)

// fifoWait bounds how long tracer check waits for a writer to open a FIFO.
const fifoWait = 10 * time.Second

// stopWait bounds how long an interrupted check waits for its reader to stop.
const stopWait = 2 * time.Second

// errInterrupted ends reading when the check was interrupted (Ctrl-C, SIGTERM).
var errInterrupted = errors.New("interrupted")

// openTrace opens a trace for reading. A FIFO is opened without waiting
// forever: the open runs aside, and gives up when no writer came within
// fifoWait or when ctx ends (errInterrupted), releasing the pending open.
func openTrace(ctx context.Context, path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("check: open trace: %w (give the path of a JSONL trace)", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("check: %s is a directory: give the path of a JSONL trace", path)
	}
	if st.Mode()&os.ModeNamedPipe == 0 {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("check: open trace: %w (give the path of a JSONL trace)", err)
		}
		return f, nil
	}
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		f, err := os.Open(path) // blocks until a writer opens the FIFO
		done <- opened{f, err}
	}()
	timer := time.NewTimer(fifoWait)
	defer timer.Stop()
	var why error
	select {
	case o := <-done:
		if o.err != nil {
			return nil, fmt.Errorf("check: open trace: %w", o.err)
		}
		return o.f, nil
	case <-ctx.Done():
		select {
		case o := <-done: // opened just as the signal came: read what there is
			if o.err == nil {
				return o.f, nil
			}
		default:
		}
		why = errInterrupted
	case <-timer.C:
		why = fmt.Errorf("check: no writer opened the FIFO %s within %s: start the program that writes it first", path, fifoWait)
	}
	// Release the pending open: a writer that opens and closes at once lets
	// it return (with end of input), and its file is closed here.
	if w, err := os.OpenFile(path, os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
		w.Close()
	}
	select {
	case o := <-done:
		if o.f != nil {
			o.f.Close()
		}
	case <-time.After(stopWait):
	}
	return nil, why
}

// interruptible stops reads from r once ctx ends.
func interruptible(ctx context.Context, r io.Reader) io.Reader { return &ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := ctxErr(c.ctx); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ctxErr is errInterrupted once ctx is done.
func ctxErr(ctx context.Context) error {
	if ctx.Err() != nil {
		return errInterrupted
	}
	return nil
}

// checkUntilInterrupted runs the check aside so that a signal ends it at
// once: a read blocked on a FIFO or a pipe is cut short through its
// deadline. finished is false when the check did not stop within stopWait
// (a blocking stdin); then there is no result to report.
func checkUntilInterrupted(ctx context.Context, decoders []*model.Decoder, rel model.Relation, files []*os.File) (model.Result, error, bool) {
	type outcome struct {
		res model.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		if len(decoders) == 1 {
			o.res, o.err = model.CheckTrace(decoders[0], rel)
		} else {
			o.res, o.err = model.CheckPair(decoders[0], decoders[1], rel)
		}
		done <- o
	}()
	select {
	case o := <-done:
		return o.res, o.err, true
	case <-ctx.Done():
	}
	for _, f := range files {
		_ = f.SetReadDeadline(time.Now()) // pipes and FIFOs; a regular file reads on to errInterrupted
	}
	select {
	case o := <-done:
		return o.res, o.err, true
	case <-time.After(stopWait):
		return model.Result{}, errInterrupted, false
	}
}
