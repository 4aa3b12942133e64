package cpython

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracer-dev/tracer/bpf"
	"github.com/tracer-dev/tracer/loader"
)

// Recognising an interpreter at exec: the samplers report a process's
// mappings every few tens of milliseconds, and a process found from them
// misses its start (interpreter start-up, imports). An interpreter file
// known beforehand (from the command line, or from an earlier process of
// the session) is put in the program's py_files map by inode; the program
// then describes a process running it at its first sample, and userspace
// learns of the process from its first stack (Stack.File).

// fileKey is an interpreter file's identity for numbering.
type fileKey struct{ dev, ino uint64 }

// learnLocked numbers an interpreter file and hands it to the program for
// recognition at exec. Files the program cannot recognise that way
// (a shared libpython) are only numbered.
func (p *Frames) learnLocked(pf *File) uint32 {
	var st unix.Stat_t
	if err := unix.Stat(pf.Path, &st); err != nil {
		return p.numberLocked(pf, fileKey{})
	}
	k := fileKey{dev: st.Dev, ino: st.Ino}
	if id, ok := p.fileIDs[k]; ok {
		return id
	}
	id := p.numberLocked(pf, k)
	// The kernel's dev_t (super_block.s_dev) packs major and minor as
	// major<<20 | minor; stat's is the userspace encoding.
	kdev := uint64(unix.Major(st.Dev))<<20 | uint64(unix.Minor(st.Dev))
	ok, err := p.reader.AddFile(pf, id, kdev, st.Ino)
	if err != nil {
		p.note("%v", err)
	}
	if ok {
		p.inKernel[id] = true
	}
	return id
}

// numberLocked gives pf a number for Stack.File.
func (p *Frames) numberLocked(pf *File, k fileKey) uint32 {
	p.nextFile++
	id := p.nextFile
	p.files[id] = pf
	if k != (fileKey{}) {
		p.fileIDs[k] = id
	}
	return id
}

// Expect makes processes of the interpreters paths (Candidates of the
// command line) recognised from their first sample. Call it after Ready
// and before the command runs.
func (p *Frames) Expect(paths []string) {
	<-p.loaded
	if p.reader == nil {
		return
	}
	for _, path := range paths {
		pf, err := Inspect(path)
		if err != nil {
			continue
		}
		p.mu.Lock()
		p.learnLocked(pf)
		p.mu.Unlock()
	}
}

// fromKernel makes the userspace side of a process the program recognised
// by its executable (a stack of an unknown process, or of one whose file
// changed at an exec). It returns nil if the file is not known.
func (p *Frames) fromKernel(st *Stack) *pyProc {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr := p.procs[st.PID]; pr != nil && (st.File == 0 || pr.file == st.File) {
		return pr
	}
	pf := p.files[st.File]
	if pf == nil {
		return nil
	}
	var cfg bpf.PyperfPyConfig
	if err := p.reader.objs.PyProcs.Lookup(uint32(st.PID), &cfg); err != nil || cfg.File != st.File {
		return nil
	}
	if old := p.procs[st.PID]; old != nil {
		old.codes.Close()
	}
	pr := &pyProc{proc: &Process{PID: st.PID, Runtime: cfg.Runtime, File: pf}, codes: p.newCodes(st.PID, pf.Layout), since: st.Time, file: st.File}
	p.procs[st.PID] = pr
	return pr
}

// pyenvWhichTimeout bounds `pyenv which`, run for a command behind a pyenv shim.
const pyenvWhichTimeout = 3 * time.Second

// Candidates returns the interpreter files a command line may run: its
// executable when it is one; the interpreter of a script's #! line (through
// env, looked up in PATH); and every word of the command line named like a
// python executable (`sh -c 'python3 x.py | cat'`), looked up in PATH. A
// pyenv shim is resolved with `pyenv which`, in the command's environment
// and working directory dir. Files that hold no interpreter are left to
// Expect to skip.
func Candidates(argv, env []string, dir string) []string {
	var out []string
	seen := map[string]bool{}
	var add func(path string, depth int)
	add = func(path string, depth int) {
		if depth > 3 || seen[path] {
			return
		}
		seen[path] = true
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return
		}
		if f, err := elf.Open(real); err == nil {
			out = append(out, real)
			out = append(out, neededPython(f, real, env)...)
			f.Close()
			return
		}
		interp, arg := shebang(real)
		switch {
		case interp == "":
		case filepath.Base(interp) == "env" && arg != "":
			if p, err := loader.LookPath(arg, env); err == nil {
				add(p, depth+1)
			}
		default:
			add(interp, depth+1)
		}
		if p := pyenvWhich(real, env, dir); p != "" {
			add(p, depth+1)
		}
	}
	for i, a := range argv {
		if i == 0 {
			if p, err := loader.LookPath(a, env); err == nil {
				add(p, 0)
			}
			continue
		}
		for _, w := range strings.FieldsFunc(a, func(r rune) bool { return strings.ContainsRune(" \t\n|;&()'\"`", r) }) {
			if looksPython(filepath.Base(w)) {
				if p, err := loader.LookPath(w, env); err == nil {
					add(p, 0)
				}
			}
		}
	}
	return out
}

// looksPython says whether a command word names a python executable:
// python, python3, python3.11.
func looksPython(name string) bool {
	return name == "python" || name == "python3" || IsInterpreterPath(name)
}

// shebang returns the interpreter of a script and its first argument.
func shebang(path string) (interp, arg string) {
	f, err := os.Open(path)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	if !strings.HasPrefix(line, "#!") {
		return "", ""
	}
	fields := strings.Fields(line[2:])
	if len(fields) == 0 {
		return "", ""
	}
	if len(fields) > 1 {
		arg = fields[1]
		if arg == "-S" && len(fields) > 2 { // env -S "python3 -u"
			arg = fields[2]
		}
	}
	return fields[0], arg
}

// pyenvWhich resolves a pyenv shim (a script that execs
// $PYENV_ROOT/libexec/pyenv exec NAME) to the interpreter it would run.
func pyenvWhich(script string, env []string, dir string) string {
	b, err := os.ReadFile(script)
	if err != nil || len(b) > 4096 {
		return ""
	}
	i := bytes.Index(b, []byte("/libexec/pyenv\" exec"))
	if i < 0 {
		return ""
	}
	start := bytes.LastIndexByte(b[:i], '"')
	if start < 0 {
		return ""
	}
	pyenv := string(b[start+1:i]) + "/libexec/pyenv"
	ctx, cancel := context.WithTimeout(context.Background(), pyenvWhichTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, pyenv, "which", filepath.Base(script))
	cmd.Env, cmd.Dir = env, dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// neededPython finds the libpython an executable links with, where the
// dynamic loader would: its RUNPATH or RPATH ($ORIGIN expanded),
// LD_LIBRARY_PATH, then the usual library directories.
func neededPython(f *elf.File, path string, env []string) []string {
	libs, _ := f.DynString(elf.DT_NEEDED)
	var dirs []string
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		vals, _ := f.DynString(tag)
		for _, v := range vals {
			dirs = append(dirs, filepath.SplitList(strings.ReplaceAll(v, "$ORIGIN", filepath.Dir(path)))...)
		}
	}
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "LD_LIBRARY_PATH="); ok {
			dirs = append(dirs, filepath.SplitList(v)...)
		}
	}
	dirs = append(dirs, "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib")
	var out []string
	for _, lib := range libs {
		if !IsInterpreterPath(lib) {
			continue
		}
		for _, d := range dirs {
			p := filepath.Join(d, lib)
			if _, err := os.Stat(p); err == nil {
				if real, err := filepath.EvalSymlinks(p); err == nil {
					out = append(out, real)
				}
				break
			}
		}
	}
	return out
}

// earlyKey identifies a code object the kernel reported (EarlyCode).
type earlyKey struct {
	pid   int
	code  uint64
	first int32
}

// maxEarly and maxEarlyBytes bound the copies kept from the kernel's
// reports (a copy holds up to 16 KiB of line table); past either they start
// again (the kernel reports a code object again once its own cache has
// forgotten it).
const (
	maxEarly      = 1 << 18
	maxEarlyBytes = 64 << 20
)

// rememberEarly keeps the names the kernel read for a code object. The
// kernel reports a code object the first time it sees it, including one
// at the address of a freed one (module bodies share their first line, 1):
// what was read from that address before is forgotten.
func (p *Frames) rememberEarly(ec *EarlyCode) {
	p.mu.Lock()
	if pr := p.procs[ec.PID]; pr != nil {
		pr.codes.forget(ec.Code)
		pr.seen = nil
	}
	p.mu.Unlock()
	if ec.Name == "" {
		return
	}
	p.earlyMu.Lock()
	defer p.earlyMu.Unlock()
	size := len(ec.Name) + len(ec.File) + len(ec.Linetable)
	if p.early == nil || len(p.early) >= maxEarly || p.earlyBytes+size > maxEarlyBytes {
		p.early, p.earlyBytes = map[earlyKey]*EarlyCode{}, 0
	}
	p.early[earlyKey{ec.PID, ec.Code, ec.FirstLine}] = ec
	p.earlyBytes += size
}

// earlyNames returns the lookup a process's Codes falls back on: what the
// kernel copied of a code object, its line table decoded for interpreter
// minor version minor; nil if it copied nothing.
func (p *Frames) earlyNames(pid int) func(code uint64, first int32, minor int) *earlyCopy {
	return func(code uint64, first int32, minor int) *earlyCopy {
		p.earlyMu.Lock()
		defer p.earlyMu.Unlock()
		ec := p.early[earlyKey{pid, code, first}]
		if ec == nil {
			return nil
		}
		if ec.copy == nil {
			lines := decodeLines(ec.Linetable, int(first), minor)
			if len(ec.Linetable) >= int(bpf.PyperfPyCodeLimitsPY_CODE_LINES_MAX)-1 && len(lines) > 0 {
				// A cut table: its last entry may be cut too.
				lines = lines[:len(lines)-1]
			}
			ec.copy = &earlyCopy{name: ec.Name, file: ec.File, table: ec.Linetable, lines: lines}
		}
		return ec.copy
	}
}

// newCodes names the code objects of process pid, falling back on the
// kernel's early names.
func (p *Frames) newCodes(pid int, l Layout) *Codes {
	c := NewCodes(pid, l)
	c.early = p.earlyNames(pid)
	return c
}
