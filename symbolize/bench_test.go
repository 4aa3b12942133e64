package symbolize

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchAddrs returns n sample addresses drawn from m unique addresses in
// the executable mappings of pid, the shape of a real profile.
func benchAddrs(maps []Mapping, unique, n int) []uint64 {
	r := rand.New(rand.NewSource(1))
	var pool []uint64
	var exec []Mapping
	for _, m := range maps {
		if strings.HasPrefix(m.Path, "/") {
			exec = append(exec, m)
		}
	}
	for len(pool) < unique {
		m := exec[r.Intn(len(exec))]
		pool = append(pool, m.Start+uint64(r.Int63n(int64(m.Limit-m.Start))))
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = pool[r.Intn(len(pool))]
	}
	return out
}

// BenchmarkUserNode symbolizes 1M sampled addresses (20k unique) of a live
// node process, whose executable has 150k function symbols; the first
// lookups pay for reading the symbol tables.
func BenchmarkUserNode(b *testing.B) {
	dir := b.TempDir()
	script := filepath.Join(dir, "idle.js")
	if err := os.WriteFile(script, []byte("console.log('ready'); process.stdin.resume();\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	benchProcess(b, startInterpreter(b, dir, nil, "node", script))
}

// BenchmarkUserPython does the same on python3 with pyenv's libpython,
// whose DWARF line tables are read as well.
func BenchmarkUserPython(b *testing.B) {
	dir := b.TempDir()
	script := filepath.Join(dir, "idle.py")
	if err := os.WriteFile(script, []byte("import sys\nprint('ready', flush=True)\nsys.stdin.read()\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	benchProcess(b, startInterpreter(b, dir, nil, "python3", script))
}

func benchProcess(b *testing.B, pid int) {
	s0 := New()
	if err := s0.LoadProcMaps(pid); err != nil {
		b.Fatal(err)
	}
	addrs := benchAddrs(s0.Mappings(pid), 20000, 1000000)
	s0.Close()
	b.ResetTimer()
	for range b.N {
		s := New()
		if err := s.LoadProcMaps(pid); err != nil {
			b.Fatal(err)
		}
		named := 0
		for _, a := range addrs {
			if s.User(pid, a).Function != "" {
				named++
			}
		}
		if named == 0 {
			b.Fatal("nothing was named")
		}
		b.ReportMetric(float64(named)/float64(len(addrs)), "named/op")
		s.Close()
	}
}

// pythonLoopFunctions are the libpython functions a sampled CPU-bound
// Python loop (x += i * i % 7) falls in, its callers included.
var pythonLoopFunctions = []string{
	"Py_BytesMain", "Py_RunMain", "pymain_run_python", "PyRun_SimpleStringFlags",
	"_PyRun_SimpleStringFlagsWithName", "run_mod", "run_eval_code_obj", "PyEval_EvalCode",
	"_PyEval_Vector", "_PyEval_EvalFrameDefault", "PyLong_FromLong", "_PyLong_Multiply",
	"_PyLong_Add", "long_mod", "l_mod", "PyNumber_Remainder", "PyDict_SetItem", "insertdict",
	"PyDict_GetItemWithError", "_PyObject_Malloc", "_PyObject_Free", "rangeiter_next",
	"gc_collect_main", "_Py_Dealloc", "PyUnicode_InternInPlace", "r_object",
}

// BenchmarkResolveLibpython is what Warm does in a session that samples
// a Python loop: libpython is opened, and addresses of the functions the
// loop falls in are named, reading its symbol table and the line programs
// of their compilation units. "cold" keeps no cache between sessions;
// "cached" finds what an earlier session kept.
func BenchmarkResolveLibpython(b *testing.B) {
	const lib = "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"
	if _, err := os.Stat(lib); err != nil {
		b.Skipf("pyenv python 3.11.7 is not installed: %v", err)
	}
	f, err := os.Open(lib)
	if err != nil {
		b.Fatal(err)
	}
	syms, err := readSymbols(f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	want := map[string]bool{}
	for _, n := range pythonLoopFunctions {
		want[n] = true
	}
	var addrs []uint64
	for _, s := range syms {
		if want[s.name] {
			for a := s.addr; a < s.addr+s.size; a += 32 {
				addrs = append(addrs, a)
			}
		}
	}
	session := func() {
		o, err := openFile(lib, 0)
		if err != nil {
			b.Fatal(err)
		}
		named := 0
		for _, a := range addrs {
			if _, _, line, ok := o.resolve(a); ok && line > 0 {
				named++
			}
		}
		o.close()
		if named < len(addrs)/2 {
			b.Fatalf("%d of %d addresses have a line", named, len(addrs))
		}
	}
	for _, bc := range []struct {
		name string
		dir  string
	}{{"cold", ""}, {"cached", b.TempDir()}} {
		b.Run(bc.name, func(b *testing.B) {
			old := lineCacheDir
			lineCacheDir = func() string { return bc.dir }
			defer func() { lineCacheDir = old }()
			session()
			b.ResetTimer()
			for range b.N {
				session()
			}
		})
	}
}
