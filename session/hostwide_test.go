package session

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tracer-dev/tracer/internal/usage"
	"github.com/tracer-dev/tracer/loader"
)

// fakeProc writes a /proc entry for pid: its exe link, status and cgroup.
func fakeProc(t *testing.T, root string, pid int, exe string, uid int, cgroup string) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(dir, "exe")); err != nil {
		t.Fatal(err)
	}
	status := "Name:\tx\nUid:\t" + strconv.Itoa(uid) + "\t" + strconv.Itoa(uid) + "\t0\t0\n"
	if err := os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	cg := "12:memory:/x\n0::" + cgroup + "\n"
	if err := os.WriteFile(filepath.Join(dir, "cgroup"), []byte(cg), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestHostFilterChoosesProcesses(t *testing.T) {
	root := t.TempDir()
	fakeProc(t, root, 10, "/root/.pyenv/versions/3.11.7/bin/python3.11", 0, "/app.slice/web.service")
	fakeProc(t, root, 11, "/usr/bin/node", 0, "/app.slice/web.service")
	fakeProc(t, root, 12, "/usr/bin/python3.11", 1000, "/app.slice/web.service")
	fakeProc(t, root, 13, "/usr/bin/python3.11", 0, "/app.slice/web.services")
	fakeProc(t, root, 14, "/usr/bin/bash", 0, "/app.slice/web.service")
	fakeProc(t, root, 15, "/usr/bin/python3.11 (deleted)", 0, "/app.slice/web.service/worker")
	uid0 := 0
	for _, tc := range []struct {
		name string
		f    HostFilter
		want []int
	}{
		{"default: CPython and node", HostFilter{}, []int{10, 11, 12, 13, 15}},
		{"exe", HostFilter{Exes: []string{"node"}}, []int{11}},
		{"uid", HostFilter{UID: &uid0}, []int{10, 11, 13, 15}},
		{"cgroup and below, not a sibling with the same prefix", HostFilter{Cgroup: "/app.slice/web.service"}, []int{10, 11, 12, 15}},
		{"all three", HostFilter{Exes: []string{"python3*"}, UID: &uid0, Cgroup: "/app.slice/web.service/"}, []int{10, 15}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.f.Check(); err != nil {
				t.Fatal(err)
			}
			h := newHostProcs(tc.f)
			h.proc = root
			got := h.running()
			if len(got) != len(tc.want) {
				t.Fatalf("followed %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("followed %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestHostFilterRecords: records of followed processes pass, others do not;
// an exec decides again, an exit is passed on and then forgotten; lost
// records always pass.
func TestHostFilterRecords(t *testing.T) {
	root := t.TempDir()
	fakeProc(t, root, 20, "/usr/bin/python3", 0, "/")
	fakeProc(t, root, 21, "/usr/bin/bash", 0, "/")
	f := HostFilter{}
	if err := f.Check(); err != nil {
		t.Fatal(err)
	}
	h := newHostProcs(f)
	h.proc = root
	for _, tc := range []struct {
		rec  loader.Record
		want bool
	}{
		{&loader.Sample{PID: 20, TID: 20}, true},
		{&loader.Sample{PID: 21, TID: 21}, false},
		{&loader.Sample{PID: 0, TID: 0}, false},
		{&loader.Mmap{PID: 20, Path: "/usr/lib/libpython3.11.so"}, true},
		{&loader.Lost{Count: 3}, true},
		{&loader.Exit{PID: 20, TID: 22}, true},
		{&loader.Exit{PID: 20, TID: 20}, true},
	} {
		if got := h.filter(tc.rec); got != tc.want {
			t.Errorf("%T %+v: kept %v, want %v", tc.rec, tc.rec, got, tc.want)
		}
	}
	if _, ok := h.keep[20]; ok {
		t.Error("pid 20 is still remembered after its exit")
	}
	// bash execs python: decided again at the exec.
	if h.filter(&loader.Sample{PID: 21, TID: 21}) {
		t.Fatal("bash kept")
	}
	os.Remove(filepath.Join(root, "21", "exe"))
	os.Symlink("/usr/bin/python3.12", filepath.Join(root, "21", "exe"))
	if !h.filter(&loader.Comm{PID: 21, TID: 21, Name: "python3", Exec: true}) || !h.filter(&loader.Sample{PID: 21, TID: 21}) {
		t.Error("after its exec of python, pid 21 is not followed")
	}
	if h.wants(os.Getpid()) {
		t.Error("tracer follows itself")
	}
}

func TestHostFilterCheck(t *testing.T) {
	for _, f := range []HostFilter{
		{Exes: []string{"python["}},
		{Exes: []string{"/usr/bin/python3"}},
		{Exes: []string{""}},
		{Cgroup: "system.slice"},
	} {
		err := f.Check()
		var ue *usage.Error
		if err == nil || !errors.As(err, &ue) {
			t.Errorf("%+v: error %v, want a usage error", f, err)
		}
	}
	var f HostFilter
	if err := f.Check(); err != nil || len(f.Exes) != len(DefaultExes) {
		t.Errorf("empty filter: %v, exes %v", err, f.Exes)
	}
}
