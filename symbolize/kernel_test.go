package symbolize

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/tracer-dev/tracer/internal/privtest"
)

// kallsymsAddr finds a text symbol's address in /proc/kallsyms.
func kallsymsAddr(t *testing.T, name string) uint64 {
	t.Helper()
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		privtest.Require(t, "/proc/kallsyms", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 3 && fs[2] == name && (fs[1] == "T" || fs[1] == "t") {
			a, _ := strconv.ParseUint(fs[0], 16, 64)
			if a == 0 {
				privtest.Require(t, "kernel addresses", errors.New("hidden by kptr_restrict; run as root"))
			}
			return a
		}
	}
	t.Fatalf("%s not in /proc/kallsyms", name)
	return 0
}

func TestKernelLive(t *testing.T) {
	s := New()
	for _, name := range []string{"schedule", "do_sys_openat2"} {
		a := kallsymsAddr(t, name)
		for _, d := range []uint64{0, 1, 16} {
			f := s.Kernel(a + d)
			if f.Function != name || f.Kind != Kernel || f.Module != kernelModule {
				t.Errorf("%s+%d: got %+v", name, d, f)
			}
		}
	}
	if err := s.KernelErr(); err != nil {
		t.Errorf("KernelErr: %v", err)
	}
}

func TestKallsymsParse(t *testing.T) {
	const text = "ffffffff81000000 T _stext\n" +
		"ffffffff81000100 t helper_one\n" +
		"ffffffff81000200 D some_data\n" +
		"ffffffff81000300 T helper_two\n" +
		"0000000000000000 T hidden_by_kptr\n" +
		"malformed\n" +
		"ffffffffc0001000 t mod_func\t[mymod]\n"
	k, err := parseKallsyms(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		addr       uint64
		fn, module string
	}{
		{"first", 0xffffffff81000000, "_stext", kernelModule},
		{"inside", 0xffffffff81000150, "helper_one", kernelModule},
		{"data symbols are skipped", 0xffffffff81000250, "helper_one", kernelModule},
		{"next text symbol", 0xffffffff81000300, "helper_two", kernelModule},
		{"module", 0xffffffffc0001010, "mod_func", "[mymod]"},
		{"below everything", 0x1000, "", kernelModule},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := k.frame(tc.addr)
			if f.Function != tc.fn || f.Module != tc.module || f.Kind != Kernel {
				t.Errorf("got %+v, want %s in %s", f, tc.fn, tc.module)
			}
		})
	}
}

func TestKallsymsMissing(t *testing.T) {
	s := New(WithKallsyms(t.TempDir() + "/none"))
	f := s.Kernel(0xffffffff81000000)
	if f.Function != "" || f.Kind != Kernel {
		t.Errorf("got %+v", f)
	}
	if s.KernelErr() == nil {
		t.Error("KernelErr is nil for a missing kallsyms file")
	}
	if w := s.Warnings(); len(w) != 1 || !strings.Contains(w[0], "kernel") {
		t.Errorf("warnings: %q", w)
	}
}
