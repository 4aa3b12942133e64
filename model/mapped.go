package model

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
)

// mapping is the part of a regular file that checkLines reads through a
// read-only memory mapping instead of read(2), which saves the kernel's copy
// of every byte: the file's whole lines as they were when the check began
// (the bytes after the last newline, and anything written later, are read
// from the file as usual, after it). data[off:] is what is left to read.
// Every mapChunk bytes the pages read are given back (so that the process's
// resident memory does not grow with the file) and stop is asked whether to
// go on (an interrupted check must end promptly without a read to fail).
type mapping struct {
	data             []byte
	off, mark, freed int
	stop             func() error
	unmap            func() // gives the mapping back
	release          func(b []byte)
}

// mapChunk is how many bytes are read between two calls of release and
// stop (a variable for the tests).
var mapChunk = 4 << 20

// errShrank is the read error of a mapped file that was cut short while it
// was read.
var errShrank = errors.New("the file shrank while it was read")

// MapFile lets CheckTrace read f, a regular file of which nothing has been
// read yet and from which d reads (maybe through a wrapper such as a reader
// that can be interrupted), through a read-only memory mapping of its whole
// lines; stop is called every few MiB, and an error from it ends the check
// as a read error would. It returns false, leaving d to read as before,
// when the file cannot be mapped (not a regular file, empty, or mapping
// unsupported). The other ways of reading a Decoder ignore the mapping.
func (d *Decoder) MapFile(f *os.File, stop func() error) bool {
	if d.line > 0 || d.r.Buffered() > 0 || !mappable {
		return false
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() == 0 || int64(int(st.Size())) != st.Size() {
		return false
	}
	if pos, err := f.Seek(0, io.SeekCurrent); err != nil || pos != 0 {
		return false
	}
	d.mapFile, d.mapStop = f, stop
	return true
}

// openMapping maps d's file, if MapFile gave one, for checkLines, which
// calls it with faults turned into panics (see checkMapped): the file may
// shrink between its Stat and its last byte read. The file's offset is
// moved past the mapped lines, where the decoder's reader goes on.
func (d *Decoder) openMapping() {
	f := d.mapFile
	d.mapFile = nil
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return
	}
	m, err := mapFile(f, int(st.Size()))
	if err != nil {
		return // read as before
	}
	end := bytes.LastIndexByte(m.data, '\n') + 1
	if end == 0 {
		m.unmap()
		return
	}
	if _, err := f.Seek(int64(end), io.SeekStart); err != nil {
		m.unmap()
		return
	}
	m.data, m.mark, m.stop = m.data[:end], mapChunk, d.mapStop
	d.m = m
}

// closeMapping gives d's mapping back.
func (d *Decoder) closeMapping() {
	if d.m != nil {
		d.m.unmap()
		d.m = nil
	}
}

// mapped returns the bytes left in d's mapping (nil when there is none).
func (d *Decoder) mapped() []byte {
	if d.m == nil {
		return nil
	}
	return d.m.data[d.m.off:]
}

// advance moves d's mapping n bytes on; every mapChunk bytes it gives the
// pages read back and asks stop whether to go on.
func (d *Decoder) advance(n int) error {
	m := d.m
	if m.off += n; m.off < m.mark {
		return nil
	}
	return d.passMark()
}

// passMark is advance at a mark.
func (d *Decoder) passMark() error {
	m := d.m
	end := m.off / mapChunk * mapChunk // page-aligned, as the mapping
	m.release(m.data[m.freed:end])
	m.freed, m.mark = end, end+mapChunk
	if m.stop != nil {
		return m.stop()
	}
	return nil
}

// mappedLine is readLine in d's mapping: the next line without its newline,
// or ok false at the end of the mapping (which then is given back, and the
// reader reads on). A line is as long as the reader would allow.
func (d *Decoder) mappedLine() (line []byte, ok bool, err error) {
	b := d.mapped()
	if len(b) == 0 {
		d.closeMapping()
		return nil, false, nil
	}
	lim := len(b)
	if lim > maxMappedLine+1 {
		lim = maxMappedLine + 1
	}
	n := 0
	for n < lim && b[n] != '\n' {
		n++
	}
	if n > maxMappedLine {
		return nil, false, lineTooLong(d)
	}
	return b[:n], true, d.advance(n + 1)
}

// maxMappedLine is the longest line the reader takes: it reads a long line
// a buffer at a time and gives up when more than MaxLineBytes are held
// without a newline.
const maxMappedLine = (MaxLineBytes/readerSize+1)*readerSize - 1

// checkMapped runs check (checkLines's loop) with d's file mapped, faults
// in the mapping turned into a read error: a file cut short while it is
// read cannot crash the check.
func (d *Decoder) checkMapped(check func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if !isFault(r) || d.m == nil {
				panic(r)
			}
			err = &fs.PathError{Op: "read", Path: d.name, Err: errShrank}
		}
		d.closeMapping()
	}()
	d.openMapping()
	return check()
}

// isFault reports whether a recovered value is a memory fault (of a mapped
// file cut short), which the scanner's recovery must not take for a line
// cut short.
func isFault(r any) bool {
	_, ok := r.(interface{ Addr() uintptr })
	return ok
}
