package symbolize

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseProcMaps(t *testing.T) {
	const text = `55d0c2a00000-55d0c2a01000 r--p 00000000 fd:01 1311 /usr/bin/prog
55d0c2a01000-55d0c2a02000 r-xp 00001000 fd:01 1311 /usr/bin/prog
7f0000000000-7f0000001000 r-xp 00002000 fd:01 99 /tmp/my lib.so (deleted)
7f0000100000-7f0000200000 rwxp 00000000 00:00 0 
7fff00000000-7fff00002000 r-xp 00000000 00:00 0                          [vdso]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`
	got, err := parseProcMaps(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mapping{
		{Start: 0x55d0c2a01000, Limit: 0x55d0c2a02000, Offset: 0x1000, Path: "/usr/bin/prog", Inode: 1311},
		{Start: 0x7f0000000000, Limit: 0x7f0000001000, Offset: 0x2000, Path: "/tmp/my lib.so (deleted)", Inode: 99},
		{Start: 0x7f0000100000, Limit: 0x7f0000200000},
		{Start: 0x7fff00000000, Limit: 0x7fff00002000, Path: "[vdso]"},
		{Start: 0xffffffffff600000, Limit: 0xffffffffff601000, Path: "[vsyscall]"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	for _, bad := range []string{"zz-10 r-xp 0 0:0 0 /x", "10-20 r-xp", "20-10 r-xp 0 0:0 0 /x", "10-20 r-xp 0 0:0 nan /x"} {
		if _, err := parseProcMaps(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestMappingReplaceForkExec(t *testing.T) {
	s := New(WithPerfMapDir(t.TempDir()))
	const pid = noSuchPid
	s.AddMapping(pid, Mapping{Start: 0x1000, Limit: 0x5000, Offset: 0x10000, Path: "/nonexistent/a.so"})
	s.AddMapping(pid, Mapping{Start: 0x2000, Limit: 0x3000, Path: "//anon"})
	want := []Mapping{
		{Start: 0x1000, Limit: 0x2000, Offset: 0x10000, Path: "/nonexistent/a.so"},
		{Start: 0x2000, Limit: 0x3000, Path: "//anon"},
		{Start: 0x3000, Limit: 0x5000, Offset: 0x12000, Path: "/nonexistent/a.so"},
	}
	if got := s.Mappings(pid); !reflect.DeepEqual(got, want) {
		t.Fatalf("after overlap: got %+v", got)
	}
	if f := s.User(pid, 0x3100); f.Module != "/nonexistent/a.so" || f.Function != "" {
		t.Errorf("unreadable file: got %+v", f)
	}
	if w := s.Warnings(); len(w) != 1 || !strings.Contains(w[0], "/nonexistent/a.so") || !strings.Contains(w[0], "no such file") {
		t.Errorf("warnings: %q", w)
	}
	const child = noSuchPid + 1
	s.Fork(pid, child)
	if got := s.Mappings(child); !reflect.DeepEqual(got, want) {
		t.Errorf("child mappings: %+v", got)
	}
	s.Fork(pid, pid) // a thread: nothing changes
	s.Exec(child)
	if got := s.Mappings(child); len(got) != 0 {
		t.Errorf("after exec: %+v", got)
	}
	if got := s.Mappings(pid); !reflect.DeepEqual(got, want) {
		t.Errorf("parent changed by the child's exec: %+v", got)
	}
	s.AddMapping(pid, Mapping{Start: 5, Limit: 5}) // empty: ignored
	if got := s.Mappings(pid); len(got) != 3 {
		t.Errorf("empty mapping was added: %+v", got)
	}
}

func TestUnknownAddresses(t *testing.T) {
	s := New(WithPerfMapDir(t.TempDir()))
	for _, addr := range []uint64{0, 42, perfContextMax, ^uint64(0)} {
		f := s.User(noSuchPid, addr)
		if f.Function != "" || f.Kind != Unknown || f.Addr != addr {
			t.Errorf("0x%x: got %+v", addr, f)
		}
		if f.Name() == "" {
			t.Errorf("0x%x: empty Name()", addr)
		}
	}
}
