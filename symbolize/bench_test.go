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
