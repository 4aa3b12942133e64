package symbolize

import (
	"debug/elf"
	"fmt"
	"os"
	"testing"
)

// symbolAddress computes where symbol name of exe sits in process pid, by
// hand: the executable mapping that holds the symbol's file offset.
func symbolAddress(t *testing.T, pid int, exe, name string) uint64 {
	t.Helper()
	ef, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	syms, err := ef.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	var value uint64
	for _, s := range syms {
		if s.Name == name {
			value = s.Value
		}
	}
	if value == 0 {
		t.Fatalf("%s has no symbol %s", exe, name)
	}
	var fileOff uint64
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD && value >= p.Vaddr && value < p.Vaddr+p.Filesz {
			fileOff = value - p.Vaddr + p.Off
		}
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	maps, err := parseProcMaps(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range maps {
		if m.Path == exe && fileOff >= m.Offset && fileOff < m.Offset+(m.Limit-m.Start) {
			return m.Start + fileOff - m.Offset
		}
	}
	t.Fatalf("%s: offset 0x%x of %s is not mapped", exe, fileOff, name)
	return 0
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
