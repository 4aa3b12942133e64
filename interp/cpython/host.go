package cpython

import "github.com/tracer-dev/tracer/loader"

// forgetAfter is how long after its exit a process's interpreter (its
// code-object names) and a thread's list of stacks are kept: the stacks
// read just before the exit are still named and merged meanwhile (a
// continuous export settles the samples older than a second at each
// interval).
const forgetAfter = 30_000_000_000 // ns

// ended is a process or thread that exited at time.
type ended struct {
	pid, tid int
	time     uint64
}

// AddRunning looks up the interpreter of a process that was already running
// when tracing started (the host-wide mode finds them in /proc). A process
// already known is left as it is.
func (p *Frames) AddRunning(pid int) {
	<-p.loaded
	if p.reader == nil {
		return
	}
	p.mu.Lock()
	_, known := p.procs[pid]
	p.mu.Unlock()
	if known {
		return
	}
	pp, err := Find(pid)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, known := p.procs[pid]; !known {
		p.addLocked(pp, err, 0)
	}
}

// exited notes an exit and forgets what belonged to the processes and
// threads that exited more than forgetAfter before it, so that a session of
// weeks over processes that come and go keeps only the living ones.
func (p *Frames) exited(r *loader.Exit) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gone = append(p.gone, ended{pid: r.PID, tid: r.TID, time: r.Time})
	keep := p.gone[:0]
	for _, g := range p.gone {
		if g.time+forgetAfter > r.Time {
			keep = append(keep, g)
			continue
		}
		if !p.stacks.Forget(g.tid) {
			keep = append(keep, g) // not merged yet
			continue
		}
		if g.pid == g.tid {
			if pr, ok := p.procs[g.pid]; ok && pr.since <= g.time {
				if p.reader != nil {
					p.reader.RemoveProcess(g.pid)
				}
				pr.codes.Close()
				delete(p.procs, g.pid)
			}
		}
	}
	clear(p.gone[len(keep):])
	p.gone = keep
}
