package symbolize

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
)

// Symbolizer resolves addresses of many processes and of the kernel. It is
// safe for concurrent use.
type Symbolizer struct {
	mu         sync.Mutex
	perfMapDir string
	kallsyms   string
	procRoot   string
	debugDirs  []string

	procs     map[int]*process
	files     map[fileKey]*object // by (path, inode); nil value: not an ELF file
	byBuildID map[string]*object
	vdso      *object
	vdsoRead  bool

	kernel     *kernelSymbols
	kernelRead bool
	// kernelPrepared: PrepareKernel has read kallsyms for the addresses
	// of the samples; the table is still unread.
	kernelPrepared bool
	kernelErr      error
	kcache         map[uint64]Frame
	bpfCode        []bpfCode // AddBPFCode

	// The kernel symbol cache (kallsyms_cache.go): its directory, how the
	// running kernel and its modules are identified (nil: no cache), and
	// the file once opened.
	kernelCacheDir    string
	kernelCacheKey    func() ([32]byte, bool)
	loadedModules     func() map[string]bool
	kernelCacheTried  bool
	kernelCacheFile   *kernelCache
	kernelCacheKeyOK  bool
	kernelCacheKeyVal [32]byte

	warnings map[string]string // subject → one line
}

// fileKey names a file version: the same path with another inode is a
// different file (a library replaced on disk).
type fileKey struct {
	path  string
	inode uint64
}

// Option configures a Symbolizer.
type Option func(*Symbolizer)

// WithPerfMapDir reads perf map files from dir instead of /tmp.
func WithPerfMapDir(dir string) Option { return func(s *Symbolizer) { s.perfMapDir = dir } }

// WithKallsyms reads kernel symbols from path instead of /proc/kallsyms.
// Its symbols are not cached (WithKernelCache).
func WithKallsyms(path string) Option {
	return func(s *Symbolizer) { s.kallsyms, s.kernelCacheKey = path, nil }
}

// WithDebugDirs looks for separate debug files (DIR/.build-id/…) in dirs
// instead of /usr/lib/debug.
func WithDebugDirs(dirs ...string) Option {
	return func(s *Symbolizer) { s.debugDirs = dirs }
}

// New returns an empty Symbolizer.
func New(opts ...Option) *Symbolizer {
	s := &Symbolizer{
		perfMapDir: DefaultPerfMapDir,
		kallsyms:   "/proc/kallsyms",
		procRoot:   "/proc",
		debugDirs:  []string{DefaultDebugDir},
		procs:      map[int]*process{},
		files:      map[fileKey]*object{},
		byBuildID:  map[string]*object{},
		kcache:     map[uint64]Frame{},
		warnings:   map[string]string{},

		kernelCacheDir: DefaultKernelCacheDir(),
		kernelCacheKey: runningKernelKey,
		loadedModules:  runningModules,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Close releases the files the symbolizer keeps open. Frames already
// returned stay valid; later lookups in files not yet read return no name.
func (s *Symbolizer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kernelCacheFile.close()
	s.kernelCacheFile = nil
	var first error
	seen := map[*object]bool{}
	for _, o := range s.files {
		if o == nil || seen[o] {
			continue
		}
		seen[o] = true
		if err := o.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// proc returns the record of pid, creating it.
func (s *Symbolizer) proc(pid int) *process {
	p := s.procs[pid]
	if p == nil {
		p = newProcess()
		s.procs[pid] = p
	}
	return p
}

// PerfMapPath returns the perf map file that process pid would write.
func (s *Symbolizer) PerfMapPath(pid int) string { return perfMapPath(s.perfMapDir, pid) }

// HasPerfMap reports whether process pid has written a perf map file.
func (s *Symbolizer) HasPerfMap(pid int) bool {
	_, err := os.Stat(s.PerfMapPath(pid))
	return err == nil
}

// Kernel resolves a kernel address from /proc/kallsyms (read on first use).
func (s *Symbolizer) Kernel(addr uint64) Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.kcache[addr]; ok {
		return f
	}
	if f, ok := s.ownKernelFrame(addr); ok {
		s.kcache[addr] = f
		return f
	}
	if !s.kernelRead {
		if f, ok := s.openedKernelCache().frame(addr); ok {
			s.kcache[addr] = f
			return f
		}
		s.kernelRead = true
		s.kernel, s.kernelErr = s.loadKernelTable()
		if s.kernelErr != nil {
			s.warn("the kernel", s.kernelErr)
		} else if s.kernel.len() == 0 {
			s.warn("the kernel", s.noKernelAddresses())
		}
	}
	f := s.kernel.frame(addr)
	s.kcache[addr] = f
	return f
}

// noKernelAddresses is the warning for a kallsyms file that shows no
// addresses.
func (s *Symbolizer) noKernelAddresses() error {
	return fmt.Errorf("%s shows no addresses; run as root or set kernel.kptr_restrict=0", s.kallsyms)
}

// KernelErr reports why kernel symbols are unavailable, if they are.
func (s *Symbolizer) KernelErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kernelErr
}

// perfContextMax is the lowest of the PERF_CONTEXT_* markers that perf puts
// in callchains; they are not addresses.
const perfContextMax = ^uint64(4095)

// User resolves an address in process pid. Pass return addresses minus one
// for the frames under the leaf, so that a call at the end of a function is
// named after that function.
//
// Results are cached per process and address. An address that could not be
// named is tried again on its 2nd, 4th, 8th… lookup, so JIT code whose perf
// map line was written after its first lookup is still named, at a cost that
// does not grow with the number of samples.
func (s *Symbolizer) User(pid int, addr uint64) Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc(pid)
	if f, ok := p.cache[addr]; ok {
		if f.Function != "" {
			return f
		}
		n := p.misses[addr] + 1
		p.misses[addr] = n
		if n&(n-1) != 0 {
			return f
		}
	}
	f := s.resolve(pid, p, addr)
	if f.Module == "" && !p.procLoaded {
		// No mapping covers addr: fill what the records did not announce
		// from /proc/PID/maps, once (the process may be gone by now).
		p.procLoaded = true
		if s.fillFromProc(pid, p) {
			f = s.resolve(pid, p, addr)
		}
	}
	p.cache[addr] = f
	if f.Function != "" {
		delete(p.misses, addr)
	} else if _, ok := p.misses[addr]; !ok {
		p.misses[addr] = 0
	}
	return f
}

// resolve does the work behind User.
func (s *Symbolizer) resolve(pid int, p *process, addr uint64) Frame {
	f := Frame{Addr: addr}
	if addr >= perfContextMax {
		return f
	}
	if r := p.region(addr); r != nil {
		f.Module = moduleName(r.Path)
		if r.obj != nil {
			if va, ok := r.vaddr(addr); ok {
				if fn, file, line, ok := r.obj.resolve(va); ok {
					f.Function, f.File, f.Line, f.Kind = fn, file, line, Native
					return f
				}
			}
			f.Kind = Native
		}
	}
	if jf, ok := s.lookupJIT(pid, p, addr); ok {
		return jf
	}
	return f
}

// region returns the mapping of p that holds addr, or nil.
func (p *process) region(addr uint64) *region {
	i := sort.Search(len(p.maps), func(i int) bool { return p.maps[i].Limit > addr })
	if i < len(p.maps) && p.maps[i].Start <= addr {
		return &p.maps[i]
	}
	return nil
}

// vaddr is the link address in r's file of the mapped address addr.
func (r *region) vaddr(addr uint64) (uint64, bool) {
	off := addr - r.Start + r.Offset
	if r.Path == "[vdso]" {
		off = addr - r.Start
	}
	return r.obj.vaddr(off)
}

// maxWarmed bounds the addresses Warm remembers for one process; past it,
// Warm does nothing more (only time is lost: the work is done at lookup).
const maxWarmed = 1 << 20

// Warm does now what naming the addresses of chain (a user callchain of
// pid, leaf first) will need later, without naming them: it reads the
// symbol table of each file the chain passes through and, for addresses
// inside a function, the file's line table and the lines of that
// compilation unit. A session calls it for each sample while the target
// runs, so that the symbolizing after the target has ended finds the
// tables of the sampled files already read, while files never sampled are
// never read. What later lookups return does not change; perf map (JIT)
// names are not read here (see LookPerfMap).
func (s *Symbolizer) Warm(pid int, chain []uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.procs[pid]
	if p == nil {
		return
	}
	if p.warmed == nil {
		p.warmed = map[uint64]struct{}{}
	}
	for i, a := range chain {
		addr := callSite(i, a)
		if addr >= perfContextMax {
			continue
		}
		if _, ok := p.warmed[addr]; ok || len(p.warmed) >= maxWarmed {
			continue
		}
		p.warmed[addr] = struct{}{}
		r := p.region(addr)
		if r == nil || r.obj == nil {
			continue
		}
		if va, ok := r.vaddr(addr); ok {
			r.obj.resolve(va)
		}
	}
}

// lookupJIT names addr from pid's perf map, reading first what the file
// gained since the last look. Where code space was reused, the entry written
// last when the address is first resolved wins.
func (s *Symbolizer) lookupJIT(pid int, p *process, addr uint64) (Frame, bool) {
	if p.jit == nil {
		p.jit = &perfMap{path: s.PerfMapPath(pid)}
	}
	_, _ = p.jit.refresh() // a stat; the file is read again only when it grew
	if e, ok := p.jit.lookup(addr); ok {
		return jitFrame(addr, e.name), true
	}
	return Frame{}, false
}

// perfMapLookEvery bounds how often a session's live calls (Warm) look
// whether a perf map grew.
const perfMapLookEvery = 10_000_000 // ns

// LookPerfMap reads what pid's perf map gained, at most every
// perfMapLookEvery. A session calls it for each sample while the target
// runs: the time a line is first read bounds the time it was written,
// which decides which samples it names (UserStackAt).
func (s *Symbolizer) LookPerfMap(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc(pid)
	now := monotonicNow()
	if now-p.jitLook < perfMapLookEvery {
		return
	}
	p.jitLook = now
	if p.jit == nil {
		if !s.HasPerfMap(pid) {
			return
		}
		p.jit = &perfMap{path: s.PerfMapPath(pid)}
	}
	_, _ = p.jit.refresh()
}

// jitAt names a JIT address as the perf map named it at time t.
func (s *Symbolizer) jitAt(pid int, addr, t uint64) (Frame, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.procs[pid]
	if p == nil || p.jit == nil {
		return Frame{}, false
	}
	if e, ok := p.jit.lookupAt(addr, t); ok {
		return jitFrame(addr, e.name), true
	}
	return Frame{}, false
}

// moduleName is the Module shown for a mapping path.
func moduleName(path string) string {
	return strings.TrimSuffix(path, deletedSuffix)
}
