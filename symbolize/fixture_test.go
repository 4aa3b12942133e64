package symbolize

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// builtFixtures are the test programs compiled from testdata/ once per run.
type builtFixtures struct {
	dir         string
	pie, nopie  string // fixture.c as PIE and as a fixed-address executable
	lib         string // libfixture.so with .symtab
	libStripped string // libfixture.so with only .dynsym
	cxx         string // fixture.cc
}

var (
	fixtureOnce sync.Once
	fixtureSet  builtFixtures
	fixtureErr  error
)

// fixtures compiles the C fixtures with gcc/g++ into a directory that lives
// for the whole test run. A missing compiler fails the test with what to do.
func fixtures(t testing.TB) builtFixtures {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureErr = buildFixtures()
	})
	if fixtureErr != nil {
		t.Fatalf("build C fixtures: %v", fixtureErr)
	}
	return fixtureSet
}

func buildFixtures() error {
	for _, cc := range []string{"gcc", "g++"} {
		if _, err := exec.LookPath(cc); err != nil {
			return fmt.Errorf("%s not found: install it (apt-get install gcc g++) to build the symbolize test fixtures", cc)
		}
	}
	dir, err := os.MkdirTemp("", "symbolize-fixtures-")
	if err != nil {
		return err
	}
	src, err := filepath.Abs("testdata")
	if err != nil {
		return err
	}
	f := builtFixtures{
		dir:         dir,
		pie:         filepath.Join(dir, "fixture-pie"),
		nopie:       filepath.Join(dir, "fixture-nopie"),
		lib:         filepath.Join(dir, "libfixture.so"),
		libStripped: filepath.Join(dir, "libfixture-stripped.so"),
		cxx:         filepath.Join(dir, "fixture-cxx"),
	}
	builds := [][]string{
		{"gcc", "-O1", "-g", "-fPIE", "-pie", "-o", f.pie, filepath.Join(src, "fixture.c"), "-ldl"},
		{"gcc", "-O1", "-fno-pie", "-no-pie", "-o", f.nopie, filepath.Join(src, "fixture.c"), "-ldl"},
		{"gcc", "-O1", "-g", "-fPIC", "-shared", "-o", f.lib, filepath.Join(src, "libfixture.c")},
		{"gcc", "-O1", "-s", "-fPIC", "-shared", "-o", f.libStripped, filepath.Join(src, "libfixture.c")},
		{"g++", "-O1", "-fPIE", "-pie", "-o", f.cxx, filepath.Join(src, "fixture.cc")},
	}
	for _, b := range builds {
		out, err := exec.Command(b[0], b[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(b, " "), err, out)
		}
	}
	fixtureSet = f
	return nil
}

func TestMain(m *testing.M) {
	// The caches kept by build ID go to a directory of the run's own, not
	// the user's: the fixtures are new builds every run.
	cache, err := os.MkdirTemp("", "symbolize-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lineCacheDir = func() string { return cache }
	code := m.Run()
	if fixtureSet.dir != "" {
		os.RemoveAll(fixtureSet.dir)
	}
	os.RemoveAll(cache)
	os.Exit(code)
}

// runningFixture is a started fixture process and the addresses it printed.
type runningFixture struct {
	cmd   *exec.Cmd
	stdin interface{ Close() error }
	pid   int
	addrs map[string]uint64
}

// startFixture runs bin with args and reads its "name 0xADDR" lines up to
// "ready". The process ends when the test does.
func startFixture(t *testing.T, bin string, args ...string) *runningFixture {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	r := &runningFixture{cmd: cmd, stdin: stdin, pid: cmd.Process.Pid, addrs: map[string]uint64{}}
	t.Cleanup(r.stop)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		name, val, _ := strings.Cut(sc.Text(), " ")
		if name == "ready" {
			return r
		}
		a, err := strconv.ParseUint(strings.TrimPrefix(val, "0x"), 16, 64)
		if err != nil {
			t.Fatalf("fixture printed %q", sc.Text())
		}
		r.addrs[name] = a
	}
	t.Fatalf("fixture %s ended before it was ready", bin)
	return nil
}

// stop closes the fixture's stdin and waits for it to exit.
func (r *runningFixture) stop() {
	if r.cmd.ProcessState != nil {
		return
	}
	r.stdin.Close()
	r.cmd.Wait()
}
