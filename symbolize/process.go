package symbolize

import (
	"fmt"
	"os"
	"sort"
)

// process is what the symbolizer knows of one process.
type process struct {
	maps       []region // sorted by Start, not overlapping
	cache      map[uint64]Frame
	jit        *perfMap
	jitLook    uint64              // CLOCK_MONOTONIC ns of the last look at the perf map (LookPerfMap)
	misses     map[uint64]uint32   // unnamed addresses → lookups since
	procLoaded bool                // /proc/PID/maps was read (or reading it was tried)
	warmed     map[uint64]struct{} // addresses given to Warm (nil until then)
}

func newProcess() *process {
	return &process{cache: map[uint64]Frame{}, misses: map[uint64]uint32{}}
}

// region is a mapping and the object mapped there (nil for anonymous
// memory or files that are not ELF).
type region struct {
	Mapping
	obj *object
}

// LoadProcMaps replaces what is known of pid's mappings with a snapshot of
// /proc/PID/maps, opening every mapped file (used by attach, where the
// mappings were made before tracing began).
func (s *Symbolizer) LoadProcMaps(pid int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc(pid)
	p.procLoaded = true
	return s.loadProcMaps(pid, p)
}

func (s *Symbolizer) loadProcMaps(pid int, p *process) error {
	path := fmt.Sprintf("%s/%d/maps", s.procRoot, pid)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read mappings of pid %d: %w", pid, err)
	}
	defer f.Close()
	maps, err := parseProcMaps(f)
	if err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	p.maps = p.maps[:0]
	clear(p.cache)
	clear(p.misses)
	for _, m := range maps {
		s.addRegion(pid, p, m)
	}
	return nil
}

// fillFromProc adds the mappings of /proc/PID/maps that overlap nothing
// already known, and reports whether it added any.
func (s *Symbolizer) fillFromProc(pid int, p *process) bool {
	f, err := os.Open(fmt.Sprintf("%s/%d/maps", s.procRoot, pid))
	if err != nil {
		return false
	}
	maps, err := parseProcMaps(f)
	f.Close()
	if err != nil {
		return false
	}
	added := false
	for _, m := range maps {
		i := sort.Search(len(p.maps), func(i int) bool { return p.maps[i].Limit > m.Start })
		if i < len(p.maps) && p.maps[i].Start < m.Limit {
			continue // overlaps a mapping the records announced
		}
		s.addRegion(pid, p, m)
		added = true
	}
	return added
}

// AddMapping records an executable mapping of pid (from PERF_RECORD_MMAP2).
// The file is opened at once, so the process may exit or the file may be
// deleted before its addresses are symbolized. A mapping that overlaps
// earlier ones replaces them where they overlap, as mmap does.
func (s *Symbolizer) AddMapping(pid int, m Mapping) {
	if m.Limit <= m.Start {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc(pid)
	for a := range p.cache {
		if a >= m.Start && a < m.Limit {
			delete(p.cache, a)
			delete(p.misses, a)
		}
	}
	s.addRegion(pid, p, m)
}

// addRegion inserts m into p's sorted list, trimming what it covers.
func (s *Symbolizer) addRegion(pid int, p *process, m Mapping) {
	r := region{Mapping: m, obj: s.objectFor(pid, m)}
	if r.obj != nil && r.BuildID == "" {
		r.BuildID = r.obj.buildID
	}
	kept := p.maps[:0:0]
	for _, old := range p.maps {
		if old.Limit <= m.Start || old.Start >= m.Limit {
			kept = append(kept, old)
			continue
		}
		if old.Start < m.Start {
			left := old
			left.Limit = m.Start
			kept = append(kept, left)
		}
		if old.Limit > m.Limit {
			right := old
			if right.fileBacked() {
				right.Offset += m.Limit - old.Start
			}
			right.Start = m.Limit
			kept = append(kept, right)
		}
	}
	kept = append(kept, r)
	sort.Slice(kept, func(i, j int) bool { return kept[i].Start < kept[j].Start })
	p.maps = kept
}

// Fork gives child a copy of parent's mappings (fork copies the address
// space). Threads share their process's mappings; Fork with parent == child
// does nothing.
func (s *Symbolizer) Fork(parent, child int) {
	if parent == child {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pp := s.procs[parent]
	if pp == nil {
		return // unknown parent: the child's maps are read from /proc on first use
	}
	c := newProcess()
	c.maps = append(c.maps, pp.maps...)
	s.procs[child] = c
}

// Exec forgets pid's mappings and JIT symbols: the process now runs a new
// image, whose mappings follow as new AddMapping calls.
func (s *Symbolizer) Exec(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.procs[pid] = newProcess()
}

// Mappings returns pid's executable mappings sorted by address, with build
// IDs where the files have them.
func (s *Symbolizer) Mappings(pid int) []Mapping {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.procs[pid]
	if p == nil {
		return nil
	}
	out := make([]Mapping, len(p.maps))
	for i, r := range p.maps {
		out[i] = r.Mapping
	}
	return out
}

// Preload opens and caches the file behind m now, without recording the
// mapping. A caller that replays mapping records later (AddMapping at the
// end of a session) calls Preload as each record arrives, while the process
// still lives and the file still exists; the later AddMapping then finds the
// file in the cache even if it has been deleted or replaced meanwhile.
func (s *Symbolizer) Preload(pid int, m Mapping) {
	if m.Limit <= m.Start {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objectFor(pid, m)
}
