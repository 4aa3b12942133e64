package symbolize

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestKallsymsMatchesFieldsParser checks that the kallsyms parser keeps
// exactly the symbols, in the same order, that the former parser
// (bufio.Scanner and strings.Fields per line) kept: on this machine's
// /proc/kallsyms and on odd input.
func TestKallsymsMatchesFieldsParser(t *testing.T) {
	live, err := os.ReadFile("/proc/kallsyms")
	if err != nil {
		t.Fatalf("read /proc/kallsyms: %v", err)
	}
	for name, text := range map[string]string{
		"proc":  string(live),
		"empty": "",
		"odd": "ffffffff81000300 T late\n" +
			"ffffffff81000000  T\t_stext  \r\n" +
			"ffffffff81000100 t dup_a\n" +
			"ffffffff81000100 t dup_b\n" +
			"ffffffff81000200 TT two_letters\n" +
			"ffffffff81000200 T\n" +
			"zz T bad_hex\n" +
			"ffffffffc0001000 t mod_func\t[mymod] extra\n" +
			"ffffffffc0002000 t [bracketed]\t[]\n" +
			"ffffffff81000400 t no_newline_at_end",
	} {
		t.Run(name, func(t *testing.T) {
			want, err := parseKallsymsFields(strings.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseKallsyms(strings.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			if got.len() != len(want) {
				t.Fatalf("%d symbols, want %d", got.len(), len(want))
			}
			for i := range want {
				if got.at(i) != want[i] {
					t.Fatalf("symbol %d: got %+v, want %+v", i, got.at(i), want[i])
				}
			}
			if name == "proc" && got.len() < 1000 {
				t.Fatalf("only %d text symbols in /proc/kallsyms: run as root", got.len())
			}
		})
	}
}

// parseKallsymsFields is the parser the current one replaced, kept as the
// reference.
func parseKallsymsFields(r io.Reader) ([]ksym, error) {
	var syms []ksym
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || len(fields[1]) != 1 {
			continue
		}
		if t := fields[1][0]; t != 't' && t != 'T' {
			continue
		}
		addr, err := strconv.ParseUint(fields[0], 16, 64)
		if err != nil || addr == 0 {
			continue
		}
		s := ksym{addr: addr, name: fields[2]}
		if len(fields) >= 4 {
			s.module = strings.Trim(fields[3], "[]")
		}
		syms = append(syms, s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(syms, func(i, j int) bool { return syms[i].addr < syms[j].addr })
	return syms, nil
}

// BenchmarkKallsyms reads and parses /proc/kallsyms (120 000 text symbols
// here), which every session does once.
func BenchmarkKallsyms(b *testing.B) {
	for range b.N {
		k, err := loadKallsyms("/proc/kallsyms")
		if err != nil || len(k.syms) < 1000 {
			b.Fatalf("%v, %d symbols", err, len(k.syms))
		}
	}
}

func BenchmarkKallsymsFields(b *testing.B) {
	for range b.N {
		f, _ := os.Open("/proc/kallsyms")
		parseKallsymsFields(f)
		f.Close()
	}
}

// TestKallsymsForAddresses checks that naming a few addresses in one read
// (PrepareKernel) gives what the table of every symbol gives, on this
// machine's /proc/kallsyms and on odd input: symbols at one address (the
// last in the file wins), modules out of order, zero addresses, addresses
// below every symbol and far above the last.
func TestKallsymsForAddresses(t *testing.T) {
	live, err := os.ReadFile("/proc/kallsyms")
	if err != nil {
		t.Fatalf("read /proc/kallsyms: %v", err)
	}
	odd := "ffffffffc0002000 t mod_b\t[modb]\n" +
		"0000000000000000 T zero\n" +
		"ffffffff81000300 T late\n" +
		"ffffffff81000000  T\t_stext  \r\n" +
		"ffffffff81000100 t dup_a\n" +
		"ffffffff81000100 t dup_b\n" +
		"ffffffff81000100 d data_at_dup\n" +
		"ffffffffc0001000 t mod_func\t[mymod] extra\n" +
		"ffffffff81000200 TT two_letters\n" +
		"ffffffff81000400 t no_newline_at_end"
	for name, text := range map[string]string{"proc": string(live), "odd": odd, "empty": ""} {
		t.Run(name, func(t *testing.T) {
			table, err := parseKallsyms(strings.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			// Every symbol's address, one byte either side, and the
			// middle of the gap to the next; then both ends.
			addrs := []uint64{1, 0xffffffff80ffffff, 0xffffffffffffff00, 0xffffffffc0001000 + maxKernelSymbolSize, 0xffffffffc0001000 + maxKernelSymbolSize + 1}
			for i := range table.len() {
				a := table.at(i).addr
				addrs = append(addrs, a-1, a, a+1)
				if i+1 < table.len() {
					addrs = append(addrs, a+(table.at(i+1).addr-a)/2)
				}
			}
			slices.Sort(addrs)
			addrs = slices.Compact(addrs)
			got, named, err := scanKallsymsFor(strings.NewReader(text), addrs)
			if err != nil {
				t.Fatal(err)
			}
			if named != (table.len() > 0) {
				t.Fatalf("named %v with %d symbols", named, table.len())
			}
			for i, a := range addrs {
				if want := table.frame(a); got[i] != want {
					t.Fatalf("%#x: got %+v, want %+v", a, got[i], want)
				}
			}
			if name == "proc" && len(addrs) < 1000 {
				t.Fatalf("only %d addresses from /proc/kallsyms: run as root", len(addrs))
			}
		})
	}
}

// PrepareKernel names the addresses of the chains as Kernel would, and
// Kernel still names an address it did not see.
func TestPrepareKernel(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kallsyms")
	text := "ffffffff81000000 T _stext\nffffffff81000100 t dup_a\nffffffff81000100 t dup_b\nffffffffc0001000 t mod_func\t[mymod]\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(WithKallsyms(path))
	s.PrepareKernel([][]uint64{{0xffffffff81000105, 0xffffffff81000001}, {0xffffffffc0001010, perfContextMax}})
	if s.kernelRead || len(s.kcache) != 3 {
		t.Fatalf("table read %v, %d cached", s.kernelRead, len(s.kcache))
	}
	// The return address is looked up one byte earlier: _stext.
	st := s.KernelStack([]uint64{0xffffffff81000105, 0xffffffff81000001})
	if st[0].Function != "dup_b" || st[1].Function != "_stext" || st[1].Addr != 0xffffffff81000001 {
		t.Fatalf("stack %+v", st)
	}
	if f := s.Kernel(0xffffffffc0001010); f.Function != "mod_func" || f.Module != "[mymod]" {
		t.Fatalf("module frame %+v", f)
	}
	if s.kernelRead {
		t.Fatal("the table was read for prepared addresses")
	}
	if f := s.Kernel(0xffffffff81000200); f.Function != "dup_b" || !s.kernelRead {
		t.Fatalf("unprepared address: %+v, table read %v", f, s.kernelRead)
	}

	empty := filepath.Join(dir, "restricted")
	if err := os.WriteFile(empty, []byte("0000000000000000 T _stext\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s = New(WithKallsyms(empty))
	s.PrepareKernel([][]uint64{{0xffffffff81000105}})
	if f := s.Kernel(0xffffffff81000105); f.Function != "" || len(s.Warnings()) != 1 || !strings.Contains(s.Warnings()[0], "shows no addresses") {
		t.Fatalf("restricted: %+v, %q", f, s.Warnings())
	}
	s = New(WithKallsyms(filepath.Join(dir, "missing")))
	s.PrepareKernel([][]uint64{{0xffffffff81000105}})
	if s.KernelErr() == nil || len(s.Warnings()) != 1 {
		t.Fatalf("missing file: %v, %q", s.KernelErr(), s.Warnings())
	}
}

// BenchmarkKallsymsForAddresses names 500 addresses in one read of
// /proc/kallsyms, what a session does instead of BenchmarkKallsyms.
func BenchmarkKallsymsForAddresses(b *testing.B) {
	k, err := loadKallsyms("/proc/kallsyms")
	if err != nil || k.len() < 1000 {
		b.Fatalf("%v, %d symbols", err, k.len())
	}
	var addrs []uint64
	for i := 0; i < k.len(); i += k.len() / 500 {
		addrs = append(addrs, k.at(i).addr+1)
	}
	slices.Sort(addrs)
	addrs = slices.Compact(addrs)
	for range b.N {
		if _, _, err := nameKallsyms("/proc/kallsyms", addrs); err != nil {
			b.Fatal(err)
		}
	}
}
