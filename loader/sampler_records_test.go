package loader

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/elastic/go-perf"
	"golang.org/x/sys/unix"
)

// rawRecord assembles a record body followed by the sample_id trailer
// (pid, tid, time, cpu) that SampleIDAll appends.
func rawRecord(typ perf.RecordType, misc uint16, body []byte, t uint64) *perf.RawRecord {
	id := make([]byte, sampleIDSize)
	binary.LittleEndian.PutUint32(id[0:], 1)
	binary.LittleEndian.PutUint32(id[4:], 2)
	binary.LittleEndian.PutUint64(id[8:], t)
	data := append(append([]byte(nil), body...), id...)
	return &perf.RawRecord{Header: perf.RecordHeader{Type: typ, Misc: misc, Size: uint16(8 + len(data))}, Data: data}
}

type enc []byte

func (e enc) u32(v uint32) enc { return binary.LittleEndian.AppendUint32(e, v) }
func (e enc) u64(v uint64) enc { return binary.LittleEndian.AppendUint64(e, v) }

// str appends s NUL-terminated and padded to 8 bytes, as the kernel does.
func (e enc) str(s string) enc {
	e = append(append(e, s...), 0)
	for len(e)%8 != 0 {
		e = append(e, 0)
	}
	return e
}

func TestDecodeSideBandRecords(t *testing.T) {
	mmap := enc(nil).u32(10).u32(11).u64(0x7f0000000000).u64(0x2000).u64(0x1000).
		u32(8).u32(1).u64(4242).u64(0).u32(unix.PROT_READ | unix.PROT_EXEC).u32(0).str("/usr/lib/libpython3.11.so.1.0")
	comm := enc(nil).u32(10).u32(12).str("worker")
	fork := enc(nil).u32(20).u32(10).u32(20).u32(11).u64(777)
	lost := enc(nil).u64(1).u64(9)
	for _, tc := range []struct {
		name string
		raw  *perf.RawRecord
		want Record
	}{
		{"mmap2", rawRecord(perf.RecordTypeMmap2, 0, mmap, 100), &Mmap{PID: 10, TID: 11, Time: 100, Start: 0x7f0000000000, Len: 0x2000,
			Offset: 0x1000, Inode: 4242, Major: 8, Minor: 1, Prot: unix.PROT_READ | unix.PROT_EXEC, Path: "/usr/lib/libpython3.11.so.1.0"}},
		{"data mmap2 skipped", rawRecord(perf.RecordTypeMmap2, 1<<13, mmap, 100), nil},
		{"comm exec", rawRecord(perf.RecordTypeComm, 1<<13, comm, 200), &Comm{PID: 10, TID: 12, Time: 200, Name: "worker", Exec: true}},
		{"fork", rawRecord(perf.RecordTypeFork, 0, fork, 300), &Fork{PID: 20, PPID: 10, TID: 20, PTID: 11, Time: 777}},
		{"exit", rawRecord(perf.RecordTypeExit, 0, fork, 300), &Exit{PID: 20, PPID: 10, TID: 20, PTID: 11, Time: 777}},
		{"lost", rawRecord(perf.RecordTypeLost, 0, lost, 400), &Lost{CPU: 1, Time: 400, Count: 9}},
		{"throttle ignored", rawRecord(perf.RecordTypeThrottle, 0, enc(nil).u64(1).u64(2).u64(3), 500), nil},
	} {
		got, err := decodeRecord(tc.raw, 1)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if tc.want == nil {
			if got != nil {
				t.Errorf("%s: got %#v, want nothing", tc.name, got)
			}
			continue
		}
		if got == nil || !equalRecord(got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.name, got, tc.want)
		}
	}
	if _, err := decodeRecord(&perf.RawRecord{Header: perf.RecordHeader{Type: perf.RecordTypeComm}, Data: []byte{1, 2}}, 0); err == nil {
		t.Error("a truncated record decoded without error")
	}
}

func equalRecord(a, b Record) bool {
	switch x := a.(type) {
	case *Mmap:
		y, ok := b.(*Mmap)
		return ok && *x == *y
	case *Comm:
		y, ok := b.(*Comm)
		return ok && *x == *y
	case *Fork:
		y, ok := b.(*Fork)
		return ok && *x == *y
	case *Exit:
		y, ok := b.(*Exit)
		return ok && *x == *y
	case *Lost:
		y, ok := b.(*Lost)
		return ok && *x == *y
	}
	return false
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(uint32(perf.RecordTypeMmap2), uint16(0), []byte(enc(nil).u32(1).u32(1).u64(0).u64(1).str("/x")))
	f.Add(uint32(perf.RecordTypeSample), uint16(0), make([]byte, 64))
	f.Add(uint32(perf.RecordTypeComm), uint16(1<<13), []byte("abc"))
	f.Fuzz(func(t *testing.T, typ uint32, misc uint16, data []byte) {
		raw := &perf.RawRecord{Header: perf.RecordHeader{Type: perf.RecordType(typ), Misc: misc}, Data: data}
		decodeRecord(raw, 0) // must not panic
	})
}

func TestDecodeSample(t *testing.T) {
	body := enc(nil).u64(0x401000).u32(10).u32(11).u64(12345).u32(1).u32(0).u64(1000000).
		u64(5).u64(contextKernel).u64(0xffffffff81000010).u64(contextUser).u64(0x401000).u64(0x401100)
	raw := &perf.RawRecord{Header: perf.RecordHeader{Type: perf.RecordTypeSample}, Data: body}
	rec, err := decodeRecord(raw, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := rec.(*Sample)
	if !ok || s.PID != 10 || s.TID != 11 || s.Time != 12345 || s.CPU != 1 || s.Period != 1000000 ||
		!slices.Equal(s.Kernel, []uint64{0xffffffff81000010}) || !slices.Equal(s.User, []uint64{0x401000, 0x401100}) {
		t.Errorf("decoded %#v", rec)
	}
	raw.Data = body[:len(body)-8] // callchain says 5 entries, 4 are there
	if _, err := decodeRecord(raw, 1); err == nil {
		t.Error("a truncated callchain decoded without error")
	}
}
