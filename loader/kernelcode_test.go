package loader

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/tracer-dev/tracer/bpf"
)

// TestOwnKernelCodeMatchesKallsyms loads the Python frame reader's programs
// and finds each of them in /proc/kallsyms at the address and under the
// name OwnKernelCode gives, while they are loaded.
func TestOwnKernelCodeMatchesKallsyms(t *testing.T) {
	if err := ProbeFeatures(FeatureBPF); err != nil {
		t.Skipf("no BPF here: %v", err)
	}
	spec, err := bpf.LoadPyperf()
	if err != nil {
		t.Fatal(err)
	}
	before := len(OwnKernelCode())
	var objs bpf.PyperfObjects
	if err := LoadCollection(spec, &objs); err != nil {
		t.Fatalf("loading the Python frame reader: %v", err)
	}
	defer objs.Close()
	code := OwnKernelCode()[before:]
	if len(code) != len(spec.Programs) {
		t.Fatalf("%d functions noted for %d programs: %+v", len(code), len(spec.Programs), code)
	}
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		t.Skipf("no kallsyms: %v", err)
	}
	defer f.Close()
	listed := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 4 && fields[3] == "[bpf]" {
			a, _ := strconv.ParseUint(fields[0], 16, 64)
			listed[fields[2]+"@"+fields[0]] = a
		}
	}
	for _, c := range code {
		if c.Size == 0 || !strings.HasPrefix(c.Name, "bpf_prog_") {
			t.Errorf("odd function %+v", c)
		}
		key := c.Name + "@" + strconv.FormatUint(c.Addr, 16)
		if _, ok := listed[key]; !ok {
			if len(listed) == 0 {
				t.Skip("kallsyms shows no addresses (kernel.kptr_restrict)")
			}
			t.Errorf("%s at %#x is not in /proc/kallsyms", c.Name, c.Addr)
		}
	}
}
