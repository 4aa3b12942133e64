package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// The probe batch framing (docs/probe-framing.md): one write(2) of
// FrameHeaderLen+N bytes, the magic, N and the batch number, then N bytes of
// JSONL.
const (
	FrameHeaderLen = 16
	FrameMaxLen    = 65536 // largest whole batch, header included
)

// FrameMagic starts every batch: 0xFE never occurs in UTF-8 text.
var FrameMagic = [8]byte{0xFE, 'T', 'R', 'C', 'B', 'A', 'T', '1'}

// Frame is one decoded batch.
type Frame struct {
	Number  uint32 // batch number, 1 for a Probe's first batch
	Payload []byte // JSONL records, each ended by '\n'; aliases the input
}

// Framing errors, compared with errors.Is.
var (
	ErrNotFrame     = errors.New("not a batch: no magic")
	ErrFrameLength  = errors.New("batch length does not match its header")
	ErrFrameTooLong = errors.New("batch longer than 64 KiB")
	ErrFramePartial = errors.New("batch payload does not end with a whole record")
)

// IsFrame reports whether b starts with the batch magic.
func IsFrame(b []byte) bool {
	return len(b) >= len(FrameMagic) && bytes.Equal(b[:len(FrameMagic)], FrameMagic[:])
}

// ParseFrame decodes one whole write. The payload must hold whole records:
// it is empty or ends with '\n'.
func ParseFrame(b []byte) (Frame, error) {
	if len(b) < FrameHeaderLen || !IsFrame(b) {
		return Frame{}, ErrNotFrame
	}
	n := binary.LittleEndian.Uint32(b[8:12])
	if uint64(n)+FrameHeaderLen != uint64(len(b)) {
		return Frame{}, fmt.Errorf("%w: header says %d payload bytes, write has %d", ErrFrameLength, n, len(b)-FrameHeaderLen)
	}
	if len(b) > FrameMaxLen {
		return Frame{}, fmt.Errorf("%w: %d bytes", ErrFrameTooLong, len(b))
	}
	f := Frame{Number: binary.LittleEndian.Uint32(b[12:16]), Payload: b[FrameHeaderLen:]}
	if len(f.Payload) > 0 && f.Payload[len(f.Payload)-1] != '\n' {
		return f, ErrFramePartial
	}
	return f, nil
}

// ParseTruncatedFrame decodes the first bytes of a batch whose write was longer
// than what was copied (count is the write's byte count). It keeps the whole
// records at the start of the payload and returns how many payload bytes were
// dropped.
func ParseTruncatedFrame(b []byte, count uint64) (Frame, uint64, error) {
	if len(b) < FrameHeaderLen || !IsFrame(b) {
		return Frame{}, 0, ErrNotFrame
	}
	n := binary.LittleEndian.Uint32(b[8:12])
	if uint64(n)+FrameHeaderLen != count || uint64(len(b)) > count {
		return Frame{}, 0, fmt.Errorf("%w: header says %d payload bytes, write had %d", ErrFrameLength, n, count)
	}
	payload := b[FrameHeaderLen:]
	keep := bytes.LastIndexByte(payload, '\n') + 1
	f := Frame{Number: binary.LittleEndian.Uint32(b[12:16]), Payload: payload[:keep]}
	return f, count - FrameHeaderLen - uint64(keep), nil
}

// AppendFrame appends the framed batch for payload to dst: what a binding
// writes. Tests use it to build batches.
func AppendFrame(dst []byte, number uint32, payload []byte) []byte {
	dst = append(dst, FrameMagic[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.LittleEndian.AppendUint32(dst, number)
	return append(dst, payload...)
}

// Records splits a payload into its records, without their '\n'. Empty lines
// are skipped.
func Records(payload []byte, fn func(line []byte) error) error {
	for len(payload) > 0 {
		i := bytes.IndexByte(payload, '\n')
		var line []byte
		if i < 0 {
			line, payload = payload, nil
		} else {
			line, payload = payload[:i], payload[i+1:]
		}
		if len(line) == 0 {
			continue
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	return nil
}
