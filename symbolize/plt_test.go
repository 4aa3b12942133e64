package symbolize

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestPLTStubs names PLT stubs as objdump does ("dlopen@plt").
func TestPLTStubs(t *testing.T) {
	fx := fixtures(t)
	if _, err := exec.LookPath("objdump"); err != nil {
		t.Fatalf("objdump not found: install binutils (apt-get install binutils)")
	}
	for _, bin := range []string{fx.pie, fx.nopie} {
		out, err := exec.Command("objdump", "-d", "-j", ".plt", "-j", ".plt.sec", bin).Output()
		if err != nil {
			t.Fatalf("objdump %s: %v", bin, err)
		}
		want := map[uint64]string{}
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasSuffix(line, "@plt>:") {
				continue
			}
			addrS, name, _ := strings.Cut(line, " ")
			a, err := strconv.ParseUint(addrS, 16, 64)
			if err != nil {
				t.Fatalf("objdump line %q", line)
			}
			want[a] = strings.TrimSuffix(strings.TrimPrefix(name, "<"), ">:")
		}
		if len(want) < 3 {
			t.Fatalf("objdump shows %d PLT stubs in %s", len(want), bin)
		}
		f, err := os.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		o, err := openObject(f, bin)
		if err != nil {
			t.Fatal(err)
		}
		for a, name := range want {
			sym, ok := o.lookup(a + 4)
			if !ok || sym.name != name {
				t.Errorf("%s: 0x%x: got %v, want %s", bin, a, sym, name)
			}
		}
		f.Close()
	}
}
