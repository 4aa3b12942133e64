package symbolize

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
)

// Naming a few kernel addresses. The table of every kernel symbol
// (loadKallsyms) costs, for the 122 000 lines of /proc/kallsyms here,
// about 45 ms of CPU (the kernel formats the lines, tracer parses them)
// and 5 MiB of memory, when the samples of a session hold a few hundred
// kernel addresses. PrepareKernel names those in one read of the file that
// keeps the symbol of each address only, with the same answer as the
// table's lookup.

// PrepareKernel names, ahead of Kernel, the kernel addresses of the
// callchains (as KernelStack looks them up) in one read of kallsyms that
// keeps only their symbols. Kernel then finds them named; an address it
// is asked for later still loads the whole table. Only the first call
// reads the file this way: later ones leave what they miss to Kernel (a
// long stream of exports is better served by the table).
func (s *Symbolizer) PrepareKernel(chains [][]uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kernelRead || s.kernelPrepared {
		return
	}
	var addrs []uint64
	for _, chain := range chains {
		for i, a := range chain {
			if a = callSite(i, a); a < perfContextMax {
				if _, ok := s.kcache[a]; ok {
					continue
				}
				if f, ok := s.ownKernelFrame(a); ok {
					s.kcache[a] = f
					continue
				}
				addrs = append(addrs, a)
			}
		}
	}
	if len(addrs) == 0 {
		return
	}
	s.kernelPrepared = true
	slices.Sort(addrs)
	addrs = slices.Compact(addrs)
	if c := s.openedKernelCache(); c != nil {
		// The cache names what it can; kallsyms is read for the rest only.
		rest := addrs[:0]
		for _, a := range addrs {
			if f, ok := c.frame(a); ok {
				s.kcache[a] = f
			} else {
				rest = append(rest, a)
			}
		}
		if addrs = rest; len(addrs) == 0 {
			return
		}
	} else if s.kernelCacheKeyOK {
		// No cache for this boot yet: the whole table is read once, and
		// written to the cache, to name the addresses.
		s.kernelRead = true
		s.kernel, s.kernelErr = s.loadKernelTable()
		if s.kernelErr != nil {
			s.warn("the kernel", s.kernelErr)
			return
		}
		if s.kernel.len() == 0 {
			s.warn("the kernel", s.noKernelAddresses())
			return
		}
		for _, a := range addrs {
			s.kcache[a] = s.kernel.frame(a)
		}
		return
	}
	frames, named, err := nameKallsyms(s.kallsyms, addrs)
	if err != nil || !named {
		// What Kernel does with the table: warn once, and name no
		// kernel frame from then on.
		s.kernelRead, s.kernelErr = true, err
		if err != nil {
			s.warn("the kernel", err)
		} else {
			s.kernel = &kernelSymbols{}
			s.warn("the kernel", s.noKernelAddresses())
		}
		return
	}
	for i, a := range addrs {
		s.kcache[a] = frames[i]
	}
}

// nameKallsyms names addrs (sorted, distinct) from the kallsyms file at
// path; named says whether the file showed any address at all.
func nameKallsyms(path string, addrs []uint64) (frames []Frame, named bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, fmt.Errorf("open kallsyms: %w", err)
	}
	defer f.Close()
	frames, named, err = scanKallsymsFor(f, addrs)
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	return frames, named, nil
}

// fewSym is the symbol kept for one address: the highest at or below it
// seen so far, with its name and module copied into buffers it reuses.
type fewSym struct {
	addr   uint64
	set    bool
	name   []byte
	module []byte
}

// scanKallsymsFor reads a kallsyms file as parseKallsyms does and names
// each of addrs (sorted, distinct) as kernelSymbols.frame would: by the
// text symbol with the highest address at or below it, the last in the
// file among symbols at one address, at most maxKernelSymbolSize below.
//
// Each symbol is kept, if at all, for the first address at or above it
// only: the answer for an address is then the one kept for it, or for the
// nearest address below it that kept one, since symbols kept for an
// address are all above the address before it.
func scanKallsymsFor(r io.Reader, addrs []uint64) (frames []Frame, named bool, err error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxKallsymsBytes), 64<<10)
	kept := make([]fewSym, len(addrs))
	i, last := 0, uint64(0) // the first of addrs at or above last, the previous symbol
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			line = nil
		}
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		if a, name, mod, ok := kallsymsFields(line); ok {
			named = true
			// The kernel's own symbols come in address order: the
			// address they fall under moves forward from the last one.
			if a >= last {
				for i < len(addrs) && addrs[i] < a {
					i++
				}
			} else {
				i = sort.Search(len(addrs), func(i int) bool { return addrs[i] >= a })
			}
			last = a
			if i < len(addrs) {
				if k := &kept[i]; !k.set || a >= k.addr {
					k.addr, k.set = a, true
					k.name = append(k.name[:0], name...)
					k.module = append(k.module[:0], mod...)
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false, err
		}
	}
	frames = make([]Frame, len(addrs))
	modules := map[string]string{}
	var best *fewSym
	for i, a := range addrs {
		if kept[i].set {
			best = &kept[i]
		}
		f := Frame{Addr: a, Kind: Kernel, Module: kernelModule}
		if best != nil && a-best.addr <= maxKernelSymbolSize {
			f.Function = string(best.name)
			if len(best.module) > 0 {
				m, ok := modules[string(best.module)]
				if !ok {
					m = "[" + string(best.module) + "]"
					modules[string(best.module)] = m
				}
				f.Module = m
			}
		}
		frames[i] = f
	}
	return frames, named, nil
}

// kallsymsFields reads a line of a text symbol (type t or T) as
// parseKallsymsLine does, without copying: address, name, and module
// without its brackets. ok is false for other lines and zero addresses.
func kallsymsFields(line []byte) (addr uint64, name, module []byte, ok bool) {
	// Most lines are "<16 hex digits> <type> <name>": other types are
	// passed over without splitting the line.
	if len(line) > 18 && line[16] == ' ' && line[18] == ' ' && line[17] != 't' && line[17] != 'T' && !slices.ContainsFunc(line[:16], isKallsymsSpace) {
		return 0, nil, nil, false
	}
	field := func() []byte {
		i := 0
		for i < len(line) && isKallsymsSpace(line[i]) {
			i++
		}
		j := i
		for j < len(line) && !isKallsymsSpace(line[j]) {
			j++
		}
		f := line[i:j]
		line = line[j:]
		return f
	}
	hex, typ := field(), field()
	if len(typ) != 1 || (typ[0] != 't' && typ[0] != 'T') {
		return 0, nil, nil, false
	}
	if name = field(); len(name) == 0 || len(hex) == 0 || len(hex) > 16 {
		return 0, nil, nil, false
	}
	for _, c := range hex {
		switch {
		case c >= '0' && c <= '9':
			addr = addr<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			addr = addr<<4 | uint64(c-'a'+10)
		case c >= 'A' && c <= 'F':
			addr = addr<<4 | uint64(c-'A'+10)
		default:
			return 0, nil, nil, false
		}
	}
	if addr == 0 {
		return 0, nil, nil, false
	}
	if m := field(); len(m) > 0 {
		for len(m) > 0 && (m[0] == '[' || m[0] == ']') {
			m = m[1:]
		}
		for len(m) > 0 && (m[len(m)-1] == '[' || m[len(m)-1] == ']') {
			m = m[:len(m)-1]
		}
		module = m
	}
	return addr, name, module, true
}
