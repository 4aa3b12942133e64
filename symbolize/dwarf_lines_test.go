package symbolize

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// linesAt looks up pc in lt, the way resolve does.
type lineAt struct {
	file string
	line int
	ok   bool
}

func lookupAll(lt *lineTable, pcs []uint64) []lineAt {
	out := make([]lineAt, len(pcs))
	for i, pc := range pcs {
		f, l, ok := lt.lookup(pc)
		out[i] = lineAt{f, l, ok}
	}
	return out
}

// functionAddrs returns, for each function symbol of path, every address
// of its first bytes (up to n) and its last.
func functionAddrs(t *testing.T, path string, dynamic bool, n uint64) []uint64 {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if dynamic {
		syms, err = f.DynamicSymbols()
	}
	if err != nil {
		t.Fatal(err)
	}
	var pcs []uint64
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Value == 0 || s.Size == 0 {
			continue
		}
		for i := uint64(0); i < min(n, s.Size); i++ {
			pcs = append(pcs, s.Value+i)
		}
		pcs = append(pcs, s.Value+s.Size-1)
	}
	if len(pcs) == 0 {
		t.Fatalf("%s has no function symbols", path)
	}
	return pcs
}

func openLines(t *testing.T, path string) *lineTable {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	lt := readLineTable(f)
	if lt == nil {
		t.Fatalf("%s: no line table", path)
	}
	return lt
}

// The line-program path gives, for every address, what the unit path
// gives on the same DWARF left uncompressed.
func TestProgramLineTableMatchesUnits(t *testing.T) {
	fixtures(t) // gcc is there
	dir := t.TempDir()
	src, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	build := func(out string, args ...string) {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
	for _, v := range []string{"5", "4"} {
		plain := filepath.Join(dir, "lines-v"+v)
		packed := plain + "-zlib"
		build(plain, "gcc", "-O1", "-g", "-gdwarf-"+v, "-fPIE", "-pie", "-o", plain,
			filepath.Join(src, "fixture.c"), filepath.Join(src, "libfixture.c"), "-ldl")
		build(packed, "objcopy", "--compress-debug-sections=zlib", plain, packed)

		want, got := openLines(t, plain), openLines(t, packed)
		if want.progOffs != nil {
			t.Fatalf("DWARF %s uncompressed took the line-program path", v)
		}
		if v == "4" {
			if got.progOffs != nil {
				t.Fatal("DWARF 4 took the line-program path: its file names need the units")
			}
			continue
		}
		if len(got.progOffs) < 2 {
			t.Fatalf("compressed DWARF 5: line-program path not taken (%d programs)", len(got.progOffs))
		}
		pcs := functionAddrs(t, plain, false, 1<<20)
		w, g := lookupAll(want, pcs), lookupAll(got, pcs)
		named := 0
		for i := range pcs {
			if w[i] != g[i] {
				t.Fatalf("%#x: line-program path %+v, unit path %+v", pcs[i], g[i], w[i])
			}
			if w[i].ok && strings.HasSuffix(w[i].file, "libfixture.c") {
				named++
			}
		}
		if named == 0 {
			t.Fatal("no address was placed in libfixture.c: the comparison proves nothing")
		}
	}
}

// On this machine's libc and its separate debug file (compressed DWARF 5,
// the case the line-program path is for), both paths agree.
func TestProgramLineTableLibc(t *testing.T) {
	const libc = "/usr/lib/x86_64-linux-gnu/libc.so.6"
	lf, err := elf.Open(libc)
	if err != nil {
		t.Skipf("no %s: %v", libc, err)
	}
	id := buildID(lf)
	lf.Close()
	if len(id) < 3 {
		t.Skipf("%s has no build ID", libc)
	}
	dbg := filepath.Join(DefaultDebugDir, ".build-id", id[:2], id[2:]+".debug")
	f, err := os.Open(dbg)
	if err != nil {
		t.Skipf("libc has no separate debug file here (%v): install libc6-dbg to run this test", err)
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil {
		t.Fatal(err)
	}
	got := programLineTable(ef)
	if got == nil {
		t.Skipf("%s is not compressed DWARF 5", dbg)
	}
	secs, ok := mappedSections(ef, f)
	if !ok {
		t.Fatal("mappedSections failed")
	}
	want := perUnitLineTable(secs)
	if want == nil {
		t.Fatal("unit path failed")
	}
	pcs := functionAddrs(t, libc, true, 4)
	w, g := lookupAll(want, pcs), lookupAll(got, pcs)
	named := 0
	for i := range pcs {
		if w[i] != g[i] {
			t.Errorf("%#x: line-program path %+v, unit path %+v", pcs[i], g[i], w[i])
		}
		if w[i].ok {
			named++
		}
	}
	t.Logf("%d addresses, %d with a line, the same on both paths", len(pcs), named)
	if named < len(pcs)/2 {
		t.Fatalf("only %d of %d addresses have a line", named, len(pcs))
	}
}
