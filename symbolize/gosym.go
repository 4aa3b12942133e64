package symbolize

import (
	"debug/elf"
	"debug/gosym"
	"io"
)

// goTable reads the function table that every Go binary carries in
// .gopclntab, even when its ELF symbol table was stripped (go run and go
// test strip theirs). It gives names, files and lines. nil when absent.
func goTable(ra io.ReaderAt) *gosym.Table {
	f, err := elf.NewFile(ra)
	if err != nil {
		return nil
	}
	sec := f.Section(".gopclntab")
	text := f.Section(".text")
	if sec == nil || text == nil || sec.Size > 1<<30 {
		return nil
	}
	data, err := sec.Data()
	if err != nil {
		return nil
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		return nil
	}
	return tab
}

// goLookup names vaddr from the Go function table.
func goLookup(tab *gosym.Table, vaddr uint64) (name, file string, line int, ok bool) {
	defer func() {
		if recover() != nil { // a corrupt table must not take the tracer down
			name, file, line, ok = "", "", 0, false
		}
	}()
	fn := tab.PCToFunc(vaddr)
	if fn == nil {
		return "", "", 0, false
	}
	file, line, _ = tab.PCToLine(vaddr)
	return fn.Name, file, line, true
}
