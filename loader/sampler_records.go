package loader

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/elastic/go-perf"
)

// Record is one decoded record from a sampler ring: *Sample, *Mmap, *Comm,
// *Fork, *Exit or *Lost. Time is CLOCK_MONOTONIC nanoseconds.
type Record interface {
	RecordTime() uint64
}

// Sample is one cpu-clock sample. User and Kernel hold the callchain split
// at the PERF_CONTEXT_* markers, leaf first; User[0] is the sampled
// instruction when the sample hit user code. Period is the time (ns) the
// sample stands for.
type Sample struct {
	PID, TID, CPU int
	Time          uint64
	Period        uint64
	User, Kernel  []uint64
}

// Mmap is an executable mapping (PERF_RECORD_MMAP2) created in a traced
// process, including the initial ones of an exec.
type Mmap struct {
	PID, TID     int
	Time         uint64
	Start, Len   uint64
	Offset       uint64
	Inode        uint64
	Major, Minor uint32
	Prot         uint32
	Path         string
}

// Comm is a change of a thread's name; Exec says it came from execve, after
// which the process's old mappings are gone.
type Comm struct {
	PID, TID int
	Time     uint64
	Name     string
	Exec     bool
}

// Fork is a new process or thread (TID != PID for a thread).
type Fork struct {
	PID, PPID, TID, PTID int
	Time                 uint64
}

// Exit is the end of a process or thread.
type Exit struct {
	PID, PPID, TID, PTID int
	Time                 uint64
}

// Lost says the kernel dropped Count records on CPU because the ring was
// full (PERF_RECORD_LOST / PERF_RECORD_LOST_SAMPLES).
type Lost struct {
	CPU   int
	Time  uint64
	Count uint64
}

func (s *Sample) RecordTime() uint64 { return s.Time }
func (m *Mmap) RecordTime() uint64   { return m.Time }
func (c *Comm) RecordTime() uint64   { return c.Time }
func (f *Fork) RecordTime() uint64   { return f.Time }
func (e *Exit) RecordTime() uint64   { return e.Time }
func (l *Lost) RecordTime() uint64   { return l.Time }

// Callchain context markers (include/uapi/linux/perf_event.h). Any value at
// or above contextMax is a marker, not an address.
const (
	contextHV          = ^uint64(32) + 1
	contextKernel      = ^uint64(128) + 1
	contextUser        = ^uint64(512) + 1
	contextGuest       = ^uint64(2048) + 1
	contextGuestKernel = ^uint64(2176) + 1
	contextGuestUser   = ^uint64(2560) + 1
	contextMax         = ^uint64(4095) + 1
)

// splitCallchain divides a raw callchain into its kernel and user parts.
// Hypervisor and guest parts are dropped.
func splitCallchain(chain []uint64) (user, kernel []uint64) {
	var cur *[]uint64
	for _, a := range chain {
		if a >= contextMax {
			switch a {
			case contextKernel:
				cur = &kernel
			case contextUser:
				cur = &user
			default:
				cur = nil
			}
			continue
		}
		if cur != nil {
			*cur = append(*cur, a)
		}
	}
	return user, kernel
}

// sampleIDSize is the size of the sample_id trailer that SampleIDAll adds to
// every non-sample record, for the sample format samplers use (TID, TIME,
// CPU): pid, tid u32; time u64; cpu, reserved u32.
const sampleIDSize = 24

// decodeRecord turns a raw ring record into a Record. It returns nil for
// record types tracer does not use (throttling, data mappings). The layout
// is the one attr asks for.
//
// Records are decoded here rather than by go-perf: its decoders index past
// the end of a short record (a panic), and for records with strings, which
// the kernel pads to 8 bytes, it reads the sample_id trailer right after the
// first NUL, so the time would be wrong; the trailer is read from the end of
// the record instead.
func decodeRecord(raw *perf.RawRecord, cpu int) (Record, error) {
	typ := perf.RecordType(raw.Header.Type)
	if typ == perf.RecordTypeSample {
		return decodeSample(raw.Data)
	}
	d := raw.Data
	if len(d) < sampleIDSize {
		return nil, errShortRecord
	}
	body := fieldReader(d[:len(d)-sampleIDSize])
	t := le.Uint64(d[len(d)-16:])
	switch typ {
	case perf.RecordTypeMmap2:
		const dataBit = 1 << 13 // PERF_RECORD_MISC_MMAP_DATA: not executable
		if raw.Header.Misc&dataBit != 0 {
			return nil, nil
		}
		m := &Mmap{Time: t}
		m.PID, m.TID = int(body.u32()), int(body.u32())
		m.Start, m.Len, m.Offset = body.u64(), body.u64(), body.u64()
		m.Major, m.Minor = body.u32(), body.u32()
		m.Inode = body.u64()
		body.u64() // inode generation
		m.Prot = body.u32()
		body.u32() // flags
		m.Path = body.str()
		return m, body.err()
	case perf.RecordTypeComm:
		const execBit = 1 << 13 // PERF_RECORD_MISC_COMM_EXEC
		c := &Comm{Time: t, Exec: raw.Header.Misc&execBit != 0}
		c.PID, c.TID = int(body.u32()), int(body.u32())
		c.Name = body.str()
		return c, body.err()
	case perf.RecordTypeFork, perf.RecordTypeExit:
		pid, ppid, tid, ptid := int(body.u32()), int(body.u32()), int(body.u32()), int(body.u32())
		tm := body.u64()
		if typ == perf.RecordTypeFork {
			return &Fork{PID: pid, PPID: ppid, TID: tid, PTID: ptid, Time: tm}, body.err()
		}
		return &Exit{PID: pid, PPID: ppid, TID: tid, PTID: ptid, Time: tm}, body.err()
	case perf.RecordTypeLost:
		body.u64() // id
		return &Lost{CPU: cpu, Time: t, Count: body.u64()}, body.err()
	case perf.RecordTypeLostSamples:
		return &Lost{CPU: cpu, Time: t, Count: body.u64()}, body.err()
	}
	return nil, nil
}

// decodeSample reads PERF_RECORD_SAMPLE in the sample format of attr: ip;
// pid, tid; time; cpu, reserved; period; nr, ips[nr].
func decodeSample(d []byte) (Record, error) {
	f := fieldReader(d)
	f.u64() // ip: also the first callchain entry
	s := &Sample{}
	s.PID, s.TID = int(f.u32()), int(f.u32())
	s.Time = f.u64()
	s.CPU = int(f.u32())
	f.u32()
	s.Period = f.u64()
	nr := f.u64()
	if f == nil || nr > uint64(len(f)/8) {
		return nil, errShortRecord
	}
	chain := make([]uint64, nr)
	for i := range chain {
		chain[i] = f.u64()
	}
	s.User, s.Kernel = splitCallchain(chain)
	return s, nil
}

var le = binary.LittleEndian

var errShortRecord = errors.New("short perf record")

// fieldReader reads the fixed fields of a record body; reading past the end
// yields zeros and makes err report a short record.
type fieldReader []byte

func (f *fieldReader) take(n int) []byte {
	if len(*f) < n {
		*f = nil
		return make([]byte, n)
	}
	b := (*f)[:n]
	*f = (*f)[n:]
	return b
}

func (f *fieldReader) u32() uint32 { return le.Uint32(f.take(4)) }
func (f *fieldReader) u64() uint64 { return le.Uint64(f.take(8)) }

// str reads a NUL-terminated string padded to 8 bytes (the rest of the body).
func (f *fieldReader) str() string {
	b := *f
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	*f = (*f)[len(*f):]
	return string(b)
}

func (f *fieldReader) err() error {
	if *f == nil {
		return errShortRecord
	}
	return nil
}
