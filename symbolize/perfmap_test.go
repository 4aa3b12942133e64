package symbolize

import (
	"fmt"
	"os"
	"testing"
)

// noSuchPid is a pid that has no /proc entry, so only perf maps name it.
const noSuchPid = 1<<22 + 17

func TestJITFrameNames(t *testing.T) {
	for _, tc := range []struct {
		in, fn, file string
		line         int
	}{
		{"JS:*transition /path/app.js:1:20", "transition", "/path/app.js", 1},
		{"JS:~transition /path/app.js:1:20", "transition", "/path/app.js", 1},
		{"JS:^get foo /tmp/x.js:2:22", "get foo", "/tmp/x.js", 2},
		{"JS:~ node:internal/main/run_main_module:1:1", "(anonymous)", "node:internal/main/run_main_module", 1},
		{"LazyCompile:*step /srv/a b.js:10:3", "step /srv/a", "b.js", 10},
		{"Eval:~ node:internal/main/run_main_module:1:1", "(anonymous)", "node:internal/main/run_main_module", 1},
		{"JS:*noLocation", "noLocation", "", 0},
		{"Builtin:ArrayPrototypePush", "Builtin:ArrayPrototypePush", "", 0},
		{"BytecodeHandler:Ldar", "BytecodeHandler:Ldar", "", 0},
		{"py::transition:/work/app.py", "transition", "/work/app.py", 0},
		{"py::Container.step:/work/app.py", "Container.step", "/work/app.py", 0},
		{"py::<module>:/work/app.py", "<module>", "/work/app.py", 0},
		{"plain_name", "plain_name", "", 0},
	} {
		t.Run(tc.in, func(t *testing.T) {
			f := jitFrame(0x10, tc.in)
			if f.Function != tc.fn || f.File != tc.file || f.Line != tc.line || f.Kind != JIT || f.Module != jitModule {
				t.Errorf("got %+v, want %q %q %d", f, tc.fn, tc.file, tc.line)
			}
		})
	}
}

func TestPerfMapLookupAndGrowth(t *testing.T) {
	dir := t.TempDir()
	s := New(WithPerfMapDir(dir))
	path := s.PerfMapPath(noSuchPid)
	if s.HasPerfMap(noSuchPid) {
		t.Fatal("HasPerfMap before the file exists")
	}
	if f := s.User(noSuchPid, 0x1010); f.Function != "" || f.Kind != Unknown {
		t.Fatalf("no map yet: got %+v", f)
	}
	write := func(text string) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(f, text)
		f.Close()
	}
	write("1000 100 JS:*transition /app/app.js:1:20\n" +
		"0x2000 0x20 py::run:/app/run.py\n" +
		"garbage line\n" +
		"3000 10 JS:~partial /app/app.js:9:1") // no newline yet: not read
	if !s.HasPerfMap(noSuchPid) {
		t.Fatal("HasPerfMap is false with the file present")
	}
	check := func(addr uint64, fn, file string) {
		t.Helper()
		f := s.User(noSuchPid, addr)
		if f.Function != fn || f.File != file {
			t.Errorf("0x%x: got %+v, want %q in %q", addr, f, fn, file)
		}
		if fn != "" && f.Kind != JIT {
			t.Errorf("0x%x: kind %v", addr, f.Kind)
		}
	}
	check(0x1010, "transition", "/app/app.js") // cached miss is re-tried after growth
	check(0x10ff, "transition", "/app/app.js")
	check(0x1100, "", "")
	check(0x2004, "run", "/app/run.py")
	check(0x3004, "", "")
	// The partial line is completed and a later entry reuses old code space.
	write("\n1080 40 JS:*moved /app/app.js:5:1\n")
	check(0x3004, "partial", "/app/app.js")
	check(0x1090, "moved", "/app/app.js")
	check(0x1010, "transition", "/app/app.js")
}

func TestPerfMapOnlyOutsideSymbolizedFiles(t *testing.T) {
	dir := t.TempDir()
	s := New(WithPerfMapDir(dir))
	if err := os.WriteFile(s.PerfMapPath(noSuchPid), []byte("5000 1000 JS:*jitted /a.js:1:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.AddMapping(noSuchPid, Mapping{Start: 0x4000, Limit: 0x8000, Path: "//anon"})
	f := s.User(noSuchPid, 0x5100)
	if f.Function != "jitted" || f.Kind != JIT {
		t.Errorf("anonymous mapping: got %+v", f)
	}
}

// A perf map line names the samples taken after it was written (bounded by
// the read that found it), until a later line replaces it: V8 reuses code
// addresses, and the name written last must not rename earlier samples.
func TestPerfMapLineNamesLaterSamplesOnly(t *testing.T) {
	var m perfMap
	m.add([]byte("1000 100 first\n"), 100)
	m.add([]byte("1000 100 second\n"), 200)
	m.add([]byte("5000 10 late\n"), 300)
	for _, c := range []struct {
		addr, t uint64
		want    string
	}{
		{0x1010, 50, "first"},   // before any read: the map as the first read found it
		{0x1010, 100, "first"},  // read at 100
		{0x1010, 150, "second"}, // written between the reads at 100 and 200
		{0x1010, 250, "second"},
		{0x1010, 1 << 40, "second"},
		{0x5004, 150, ""}, // written after the sample: not this sample's name
		{0x5004, 301, "late"},
	} {
		e, ok := m.lookupAt(c.addr, c.t)
		got := ""
		if ok {
			got = e.name
		}
		if got != c.want {
			t.Errorf("0x%x at %d: %q, want %q", c.addr, c.t, got, c.want)
		}
	}
	if e, _ := m.lookup(0x1010); e.name != "second" {
		t.Errorf("lookup without a time: %q, want the last line", e.name)
	}
}
