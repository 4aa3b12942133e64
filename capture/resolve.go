package capture

import (
	"bufio"
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/tracer-dev/tracer/loader"
)

// ResolveCommand finds, before a command runs, the interpreter files it will
// map: the executable itself (static CPython, node), or the libpython or
// libnode it needs (DT_NEEDED through DT_RUNPATH/DT_RPATH, $ORIGIN and the
// usual library directories). A script is followed through its #! line
// (and /usr/bin/env NAME through path, a colon-separated PATH), a few levels
// deep. Attaching these to the gated pid before it execs means no batch is
// written before the uprobe is in place. It returns nothing when it cannot
// tell (a shell script that decides at run time, like pyenv's shims); the
// mappings the process makes then say.
func ResolveCommand(exe, path string) []Target {
	for range 4 {
		interp, arg, ok := shebang(exe)
		if !ok {
			return elfTargets(exe)
		}
		if filepath.Base(interp) == "env" && arg != "" {
			interp = lookPathIn(arg, path)
			if interp == "" {
				return nil
			}
		}
		exe = interp
	}
	return nil
}

// shebang returns the interpreter and first argument of a #! script. The
// file is opened without blocking and must be a regular file.
func shebang(path string) (interp, arg string, ok bool) {
	f, err := loader.OpenProgramFile(path, true)
	if err != nil {
		return "", "", false
	}
	defer f.Close()
	line, _ := bufio.NewReaderSize(f, 256).ReadSlice('\n')
	if !bytes.HasPrefix(line, []byte("#!")) {
		return "", "", false
	}
	fields := strings.Fields(string(line[2:]))
	if len(fields) == 0 {
		return "", "", false
	}
	if len(fields) > 1 {
		arg = fields[1]
	}
	return fields[0], arg, true
}

func lookPathIn(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

type targetsKey struct {
	dev, ino uint64
	mtime    int64
}

var targetsCache sync.Map // targetsKey → []Target

// elfTargets returns the interpreter targets of an ELF executable: itself, or
// the interpreter libraries it needs. Results are cached by inode: pyenv's
// shims exec bash some 40 times per start, each stopped until this returns.
func elfTargets(exe string) []Target {
	f, err := loader.OpenProgramFile(exe, true)
	if err != nil {
		return nil
	}
	defer f.Close()
	return openELFTargets(f, exe)
}

// openELFTargets is elfTargets for an executable already open (f), named
// exe (the name decides whether it is an interpreter, and its directory
// is $ORIGIN).
func openELFTargets(f *os.File, exe string) []Target {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return nil
	}
	key := targetsKey{uint64(st.Dev), st.Ino, st.Mtim.Nano()}
	if ts, ok := targetsCache.Load(key); ok {
		return ts.([]Target)
	}
	ts := lookupELFTargets(f, exe)
	targetsCache.Store(key, ts)
	return ts
}

func lookupELFTargets(file *os.File, exe string) []Target {
	if t, ok := targetForOpenFile(file, exe); ok {
		return []Target{t}
	}
	f, err := elf.NewFile(file)
	if err != nil {
		return nil
	}
	needed, _ := f.DynString(elf.DT_NEEDED)
	var dirs []string
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		rp, _ := f.DynString(tag)
		for _, r := range rp {
			for _, d := range filepath.SplitList(r) {
				dirs = append(dirs, strings.ReplaceAll(d, "$ORIGIN", filepath.Dir(exe)))
			}
		}
	}
	dirs = append(dirs, filepath.SplitList(os.Getenv("LD_LIBRARY_PATH"))...)
	dirs = append(dirs, "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib")
	var out []Target
	for _, lib := range needed {
		if !strings.HasPrefix(lib, "libpython") && !strings.HasPrefix(lib, "libnode") && !strings.HasPrefix(lib, "libuv") {
			continue
		}
		for _, d := range dirs {
			if d == "" {
				continue
			}
			if t, ok := TargetForFile(filepath.Join(d, lib)); ok {
				out = append(out, t)
				break
			}
		}
	}
	return out
}
