package model

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"sync"
)

// recordSource yields records in file order. The record is valid until the
// next call.
type recordSource interface {
	next() (*Record, error)
	close()
}

// newSource returns a pipelined source when the machine has more than one
// CPU, else a plain one. Either yields the same records and errors in the same
// order.
func newSource(d *Decoder) recordSource {
	if n := runtime.GOMAXPROCS(0); n > 1 {
		return newPipeline(d, min(n, 4))
	}
	return &plainSource{d: d}
}

// plainSource reads and decodes on the caller's goroutine.
type plainSource struct {
	d   *Decoder
	rec Record
}

func (s *plainSource) next() (*Record, error) {
	if err := s.d.ReadInto(&s.rec); err != nil {
		return nil, err
	}
	return &s.rec, nil
}

func (s *plainSource) close() {}

// Batch limits: a batch closes at batchLines lines or batchBytes bytes, so the
// memory in flight is bounded by inFlight batches of at most
// max(batchBytes, the longest line) each, whatever the trace length.
const (
	batchLines = 512
	batchBytes = 256 << 10
	inFlight   = 6
)

// batch is a run of consecutive lines, decoded by a worker.
type batch struct {
	buf   []byte // the lines, concatenated
	ends  []int  // end offset of each line in buf
	lines []int  // line number of each line
	recs  []Record
	bad   []error // per line: why it did not decode (skippable), or nil
	n     int     // lines decoded into recs (or bad)
	err   error   // the read error after the n lines, or nil
	eof   bool    // the last batch
	done  chan struct{}
}

// pipeline splits decoding over worker goroutines: one reader cuts the input
// into batches of lines, the workers decode batches in parallel, and next
// hands out the records batch by batch in file order. Checking stays on the
// caller's goroutine, so its results are the same as with a plain source.
type pipeline struct {
	d     *Decoder
	work  chan *batch
	order chan *batch
	free  chan *batch
	quit  chan struct{}
	once  sync.Once
	cur   *batch
	idx   int
}

func newPipeline(d *Decoder, workers int) *pipeline {
	p := &pipeline{
		d:     d,
		work:  make(chan *batch, inFlight),
		order: make(chan *batch, inFlight),
		free:  make(chan *batch, inFlight),
		quit:  make(chan struct{}),
	}
	for i := 0; i < inFlight; i++ {
		p.free <- &batch{}
	}
	go p.read()
	for i := 0; i < workers; i++ {
		go p.decode()
	}
	return p
}

// read fills batches with lines until the end of input or a read error.
func (p *pipeline) read() {
	defer close(p.work)
	defer close(p.order)
	for {
		var b *batch
		select {
		case b = <-p.free:
		case <-p.quit:
			return
		}
		b.buf, b.ends, b.lines, b.n, b.err, b.eof = b.buf[:0], b.ends[:0], b.lines[:0], 0, nil, false
		b.done = make(chan struct{})
		for len(b.ends) < batchLines && len(b.buf) < batchBytes {
			line, err := p.d.readLine()
			if err != nil && !errors.Is(err, io.EOF) {
				b.err, b.eof = err, true
				break
			}
			if len(line) == 0 && err != nil {
				b.eof = true
				break
			}
			p.d.line++
			if (len(line) == 0 || line[0] != '{') && len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			b.buf = append(b.buf, line...)
			b.ends = append(b.ends, len(b.buf))
			b.lines = append(b.lines, p.d.line)
		}
		for _, c := range []chan *batch{p.order, p.work} {
			select {
			case c <- b:
			case <-p.quit:
				return
			}
		}
		if b.eof {
			return
		}
	}
}

// decode decodes whole batches; a malformed line gives its error in bad and
// decoding goes on with the next line, as Decoder.ReadInto does.
func (p *pipeline) decode() {
	var ps parser
	for b := range p.work {
		if cap(b.recs) < len(b.ends) {
			b.recs = append(b.recs[:cap(b.recs)], make([]Record, len(b.ends)-cap(b.recs))...)
		}
		b.recs = b.recs[:len(b.ends)]
		b.bad = b.bad[:0]
		start := 0
		for i, end := range b.ends {
			rec := &b.recs[i]
			if err := decodeInto(&ps, b.buf[start:end], rec); err != nil {
				for len(b.bad) < i {
					b.bad = append(b.bad, nil)
				}
				b.bad = append(b.bad, badLine(&ps, b.buf[start:end], p.d.name, b.lines[i], err))
			}
			rec.File, rec.Line = p.d.name, b.lines[i]
			start = end
		}
		b.n = len(b.ends)
		if b.err != nil {
			b.err = readErrorf(p.d.name, b.err)
		}
		close(b.done)
	}
}

func (p *pipeline) next() (*Record, error) {
	for {
		if b := p.cur; b != nil {
			if p.idx < b.n {
				p.idx++
				if p.idx <= len(b.bad) && b.bad[p.idx-1] != nil {
					return nil, b.bad[p.idx-1]
				}
				return &b.recs[p.idx-1], nil
			}
			if b.err != nil {
				return nil, b.err
			}
			if b.eof {
				return nil, io.EOF
			}
			p.cur = nil
			p.free <- b // never blocks: free has room for every batch
		}
		b, ok := <-p.order
		if !ok {
			return nil, io.EOF
		}
		<-b.done
		p.cur, p.idx = b, 0
	}
}

// close stops the reader; workers finish the batches they hold and exit.
func (p *pipeline) close() { p.once.Do(func() { close(p.quit) }) }
