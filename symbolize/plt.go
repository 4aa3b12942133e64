package symbolize

import (
	"debug/elf"
	"encoding/binary"
)

// pltEntrySize is the size of an x86-64 PLT entry.
const pltEntrySize = 16

// pltSymbols names the PLT stubs of an x86-64 file "name@plt", as perf and
// objdump do: entry i of .plt.sec (or entry i+1 of .plt, after the resolver
// stub) jumps to the function of relocation i in .rela.plt.
// dyn is the file's .dynsym (nil when it has none).
func pltSymbols(f *elf.File, dyn *symTable) []symbol {
	if f.Machine != elf.EM_X86_64 || f.Class != elf.ELFCLASS64 {
		return nil
	}
	rela := f.Section(".rela.plt")
	if rela == nil || rela.Size > 1<<24 {
		return nil
	}
	data, err := rela.Data()
	if err != nil {
		return nil
	}
	if dyn == nil {
		return nil
	}
	base, skip := uint64(0), uint64(1)
	if sec := f.Section(".plt.sec"); sec != nil {
		base, skip = sec.Addr, 0
	} else if plt := f.Section(".plt"); plt != nil {
		base = plt.Addr
	} else {
		return nil
	}
	var out []symbol
	for i := uint64(0); (i+1)*24 <= uint64(len(data)); i++ {
		info := binary.LittleEndian.Uint64(data[i*24+8:])
		idx := info >> 32 // symbol index into .dynsym
		if idx == 0 || idx >= uint64(dyn.count()) {
			continue
		}
		e := dyn.entry(int(idx))
		if e.name == "" {
			continue
		}
		out = append(out, symbol{
			addr:    base + (i+skip)*pltEntrySize,
			size:    pltEntrySize,
			name:    e.name + "@plt",
			src:     namePLT,
			nameOff: e.nameOff,
		})
	}
	return out
}
