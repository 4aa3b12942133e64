package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/tracer-dev/tracer/internal/privtest"
)

// Security checks: tracer runs as root against programs it does
// not trust. Under sudo the traced command runs as the invoking user with no
// capabilities; no shell ever sees the command line; output files are 0644
// and belong to the invoking user; nothing is left pinned in bpffs.

// sudoEnv makes tracer believe that nobody ran it through sudo.
var sudoEnv = []string{"SUDO_UID=65534", "SUDO_GID=65534", "SUDO_USER=nobody"}

// statusFields reads "Key:\tvalue" lines as /proc/PID/status prints them.
func statusFields(text string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return m
}

func TestSecuritySudoCommandIsNotRoot(t *testing.T) {
	privtest.Root(t, "needs root, as under sudo")
	dir := publicDir(t)
	r := invoke(t, invocation{dir: dir, env: sudoEnv, args: []string{"run", "-o", "-", "--",
		"grep", "-E", "^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapAmb):", "/proc/self/status"}})
	noPanic(t, "sudo run", r)
	if r.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	st := statusFields(r.stdout)
	for key, want := range map[string]string{
		"Uid":    "65534 65534 65534 65534", // real, effective, saved, file system
		"Gid":    "65534 65534 65534 65534",
		"CapInh": "0000000000000000", "CapPrm": "0000000000000000",
		"CapEff": "0000000000000000", "CapAmb": "0000000000000000",
	} {
		if st[key] != want {
			t.Errorf("traced command's %s is %q, want %q (status:\n%s)", key, st[key], want, r.stdout)
		}
	}
	if slices.Contains(strings.Fields(st["Groups"]), "0") {
		t.Errorf("traced command keeps root's group 0: Groups %q", st["Groups"])
	}
}

func TestSecurityNoShell(t *testing.T) {
	privtest.Root(t, "needs root to sample")
	dir := publicDir(t)
	args := []string{"$(id)", ";", "id", "|", "`id`", "&&", "*", "$HOME", "a b", "'q'", `"d"`, "\\", ">x"}
	r := invoke(t, invocation{dir: dir, args: append([]string{"run", "-o", "-", "--", "/bin/echo"}, args...)})
	noPanic(t, "echo", r)
	if want := strings.Join(args, " ") + "\n"; r.code != 0 || r.stdout != want {
		t.Errorf("exit %d, the command printed %q; want its arguments verbatim %q; stderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Error("'>x' was taken as a redirection")
	}
	// A command name with shell syntax in it is a name, not a script.
	oneLine(t, "shell syntax in the name", invoke(t, invocation{dir: dir, args: []string{"run", "--", "true; id"}}),
		"command not found: true; id")
}

func TestSecurityOutputFiles(t *testing.T) {
	privtest.Root(t, "needs root, as under sudo")
	dir := publicDir(t)
	// A file the user may not write, and a link to it where an output goes:
	// the output replaces the link and the file stays as it was.
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("root's file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, "link.pb.gz")); err != nil {
		t.Fatal(err)
	}
	// The shell here is the test's, to set a umask that would make private
	// files; tracer itself gets an argv.
	r := invoke(t, invocation{dir: dir, env: sudoEnv, bin: umaskWrapper(t), args: []string{"run",
		"-o", "link.pb.gz", "--folded", "out.folded", "--", "true"}})
	noPanic(t, "sudo run", r)
	if r.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	for _, name := range []string{"link.pb.gz", "out.folded"} {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 || st.Uid != 65534 || st.Gid != 65534 {
			t.Errorf("%s: %v owned by %d:%d, want a regular file 0644 owned by 65534:65534", name, fi.Mode(), st.Uid, st.Gid)
		}
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "root's file\n" {
		t.Errorf("the link's target was written through: %q %v", b, err)
	}
	if left := leftovers(t, dir, map[string]bool{"link.pb.gz": true, "out.folded": true}); len(left) > 0 {
		t.Errorf("files left behind: %v", left)
	}
}

// umaskWrapper writes a script that runs tracer under umask 077.
func umaskWrapper(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "umask.sh")
	script := "#!/bin/sh\numask 077\nexec " + tracerBin + " \"$@\"\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// publicDir is a fresh directory that nobody may write, as the working
// directory of a sudo user would be.
func publicDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	return dir
}

// bpffsEntries lists everything under the bpf file systems.
func bpffsEntries(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, root := range []string{"/sys/fs/bpf"} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && p != root {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

func TestSecurityNothingPinned(t *testing.T) {
	privtest.Root(t, "needs root to sample")
	before := bpffsEntries(t)
	dir := publicDir(t)
	// The samplers, the Python frames program and the transition capture
	// are all loaded for a traced Python container.
	container, err := filepath.Abs("../../examples/python_container.py")
	if err != nil {
		t.Fatal(err)
	}
	r := invoke(t, invocation{dir: dir, args: []string{"run", "-F", "999", "-o", "p.pb.gz", "--trace", "t.jsonl", "--",
		"python3", container, "--steps", "20000"}})
	noPanic(t, "run python3", r)
	if r.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	if after := bpffsEntries(t); !slices.Equal(before, after) {
		t.Errorf("bpffs changed during a run: before %v, after %v", before, after)
	}
	// No source pins anything: a pinned object would outlive tracer.
	for _, room := range []string{"../../loader", "../../session", "../../bpf", "../../export"} {
		filepath.WalkDir(room, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") || strings.HasSuffix(p, "vmlinux.h") ||
				!(strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".c") || strings.HasSuffix(p, ".h")) {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, pat := range []string{"PinPath", ".Pin(", "PinByName", "LIBBPF_PIN_BY_NAME", "pinning"} {
				if strings.Contains(string(b), pat) {
					t.Errorf("%s pins BPF objects (%s): tracer must leave nothing in bpffs", p, pat)
				}
			}
			return nil
		})
	}
}
