package model

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxLineBytes bounds one line of a trace: a longer line is an input error,
// found before it is read whole, so a hostile trace cannot make the decoder
// allocate more than this. Probe bindings write records of at most 64 KiB.
const MaxLineBytes = 16 << 20

// Decoder reads a trace one record at a time. It holds one line at a time, so
// its memory is bounded by the longest line, at most MaxLineBytes.
type Decoder struct {
	r    *bufio.Reader
	name string
	line int
	long []byte // a line longer than the reader's buffer
	p    parser

	mapFile *os.File     // to be mapped by CheckTrace (see MapFile)
	mapStop func() error //
	m       *mapping     // the mapping CheckTrace reads, while it does
}

// readerSize is the size of the decoder's read buffer.
const readerSize = 64 << 10

// NewDecoder reads JSONL records from r; name (usually the file name) appears
// in errors and in each record's File.
func NewDecoder(r io.Reader, name string) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, readerSize), name: name}
}

// Name returns the name given to NewDecoder.
func (d *Decoder) Name() string { return d.name }

// Next returns the next record, or io.EOF after the last. Blank lines are
// skipped. A malformed line gives an *InputError naming the file and line.
func (d *Decoder) Next() (Record, error) {
	var rec Record
	err := d.ReadInto(&rec)
	return rec, err
}

// ReadInto is Next into rec, reusing the capacity of rec's data and items
// slices: a loop that reads into the same Record does not allocate for them.
func (d *Decoder) ReadInto(rec *Record) error {
	for {
		line, err := d.readLine()
		if err != nil && !errors.Is(err, io.EOF) {
			return readErrorf(d.name, err)
		}
		if len(line) == 0 && err != nil {
			return io.EOF
		}
		d.line++
		if (len(line) == 0 || line[0] != '{') && len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if derr := decodeInto(&d.p, line, rec); derr != nil {
			return badLine(&d.p, line, d.name, d.line, derr)
		}
		rec.File, rec.Line = d.name, d.line
		return nil
	}
}

// readLine returns the next line without its newline; at the end of input it
// returns the last unterminated line (if any) with io.EOF.
func (d *Decoder) readLine() ([]byte, error) {
	if d.m != nil {
		if line, ok, err := d.mappedLine(); ok || err != nil {
			return line, err
		}
	}
	line, err := d.r.ReadSlice('\n')
	if err != nil && errors.Is(err, bufio.ErrBufferFull) {
		d.long = append(d.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(d.long) > MaxLineBytes {
				return nil, lineTooLong(d)
			}
			line, err = d.r.ReadSlice('\n')
			d.long = append(d.long, line...)
		}
		line = d.long
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if err == nil && len(line) == 0 {
		return line, nil
	}
	return line, err
}

// lineTooLong is the error of a line longer than the reader takes.
func lineTooLong(d *Decoder) error {
	return &InputError{File: d.name, Line: d.line + 1,
		Msg: fmt.Sprintf("line longer than %d MiB: a record must fit on one line of at most that", MaxLineBytes>>20)}
}

// readErrorf wraps an error reading the named trace (an *fs.PathError names
// the file already).
func readErrorf(name string, err error) error {
	var ie *InputError
	if errors.As(err, &ie) {
		return err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("read trace: %w", err)
	}
	return fmt.Errorf("read %s: %w", name, err)
}
