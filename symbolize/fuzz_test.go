package symbolize

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzPerfMap feeds arbitrary perf map text and addresses: parsing never
// fails, and a found entry always covers the address.
func FuzzPerfMap(f *testing.F) {
	f.Add([]byte("1000 100 JS:*transition /app/app.js:1:20\n2000 20 py::run:/a.py\n"), uint64(0x1010))
	f.Add([]byte("0x10 0x10 Builtin:X\n0x18 0x4 JS:~ :1:1\nffffffffffffffff 1 wrap\n"), uint64(0x19))
	f.Add([]byte("zz 1 x\n1 zz y\n1 1\n\n   \n"), uint64(1))
	f.Fuzz(func(t *testing.T, data []byte, addr uint64) {
		m := &perfMap{}
		half := len(data) / 2
		m.add(data[:half], 1)
		m.add(data[half:], 2)
		for i := 1; i < len(m.entries); i++ {
			if m.entries[i-1].start > m.entries[i].start {
				t.Fatalf("entries out of order at %d", i)
			}
		}
		if e, ok := m.lookup(addr); ok {
			if addr < e.start || addr-e.start >= e.size {
				t.Fatalf("entry %+v does not cover 0x%x", e, addr)
			}
			fr := jitFrame(addr, e.name)
			if fr.Function == "" || fr.Kind != JIT {
				t.Fatalf("frame %+v from %q", fr, e.name)
			}
		}
	})
}

// FuzzELF feeds arbitrary bytes as an ELF file and looks addresses up: no
// panics, and a named symbol with a size covers the address.
func FuzzELF(f *testing.F) {
	f.Add([]byte("\x7fELF\x02\x01\x01"), uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, addr uint64) {
		o, err := openObject(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		va, ok := o.vaddr(addr)
		if !ok {
			va = addr
		}
		if sym, ok := o.lookup(va); ok {
			if sym.size > 0 && (va < sym.addr || va-sym.addr >= sym.size) {
				t.Fatalf("symbol %+v does not cover 0x%x", *sym, va)
			}
		}
		o.resolve(va)
	})
}

// FuzzProcMaps feeds arbitrary /proc/PID/maps text.
func FuzzProcMaps(f *testing.F) {
	f.Add("55d0c2a01000-55d0c2a02000 r-xp 00001000 fd:01 1311 /usr/bin/prog\n")
	f.Add("7f0000100000-7f0000200000 rwxp 00000000 00:00 0 \n1-2 x 0 0 0\n")
	f.Fuzz(func(t *testing.T, text string) {
		maps, err := parseProcMaps(strings.NewReader(text))
		if err != nil {
			return
		}
		s := New(WithPerfMapDir(t.TempDir()))
		for _, m := range maps {
			if m.Limit < m.Start {
				t.Fatalf("mapping ends before it starts: %+v", m)
			}
			s.AddMapping(noSuchPid, m)
		}
		prev := uint64(0)
		for i, m := range s.Mappings(noSuchPid) {
			if i > 0 && m.Start < prev {
				t.Fatalf("mappings overlap: %+v", s.Mappings(noSuchPid))
			}
			prev = m.Limit
		}
	})
}
