package symbolize

import (
	"bufio"
	"io"
	"os"
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
