package session

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-dev/tracer/internal/testbin"
)

// jsProject makes a node project in a temporary folder: split.js (the 3:1
// loop, its first argument the seconds to run) as a local package with a
// "bin" entry, installed with npm from the folder itself (no registry);
// scripts test and spl run it; busy.js burns CPU in busyReader; fork.js
// forks split.js with child_process.fork; spawn.py runs it from Python.
func jsProject(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("no npm on PATH")
	}
	dir := t.TempDir()
	src, err := os.ReadFile(jsSplit)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"pkg/package.json": `{"name":"splitpkg","version":"1.0.0","bin":{"splitbin":"split.js"}}`,
		"pkg/split.js":     "#!/usr/bin/env node\n" + string(src),
		"split.js":         string(src),
		"package.json": `{"name":"covproj","version":"1.0.0","private":true,
			"scripts":{"test":"node split.js 3","spl":"node split.js 3"},
			"dependencies":{"splitpkg":"file:./pkg"}}`,
		"busy.js": `'use strict';
function busyReader(n) { let s = 1; for (let i = 0; i < n; i++) s = (s * 31 + i) % 1000003; return s; }
const stop = Date.now() + 3000; let a = 0;
while (Date.now() < stop) a ^= busyReader(200000);
process.stdin.resume(); process.stdin.on('end', () => process.exit(a & 0));
`,
		"spawn.py": "import subprocess, sys\nsys.exit(subprocess.call(['node', 'split.js', '3']))\n",
		"fork.js": `'use strict';
const { fork } = require('child_process');
fork(require('path').join(__dirname, 'split.js'), ['3']).on('exit', (code) => process.exit(code));
`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("npm", "install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install of a local package: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "splitbin")); err != nil {
		t.Fatalf("npm did not install the package's bin: %v", err)
	}
	return dir
}

// Every node process of the traced tree gets its JS functions named with
// file and line, whatever started it: npx, a package's bin, npm test and
// npm run, a #! script, a shell pipeline of two nodes, child_process.fork,
// a Python program.
func TestJSFramesCoverage(t *testing.T) {
	needPerf(t)
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("no node on PATH")
	}
	dir := jsProject(t)
	t.Chdir(dir)
	for _, c := range []struct {
		name string
		argv []string
		want map[string]string // function → base name of its file
	}{
		{"npx", []string{"npx", "--offline", "splitbin", "3"}, map[string]string{"heavy": "split.js", "light": "split.js"}},
		{"bin", []string{"./node_modules/.bin/splitbin", "3"}, map[string]string{"heavy": "split.js", "light": "split.js"}},
		{"npm test", []string{"npm", "test"}, map[string]string{"heavy": "split.js", "light": "split.js"}},
		{"npm run", []string{"npm", "run", "spl"}, map[string]string{"heavy": "split.js", "light": "split.js"}},
		{"#! script", []string{"./pkg/split.js", "3"}, map[string]string{"heavy": "split.js", "light": "split.js"}},
		{"sh -c pipeline", []string{"sh", "-c", "node split.js 3 | node busy.js"},
			map[string]string{"heavy": "split.js", "light": "split.js", "busyReader": "busy.js"}},
		{"fork", []string{"node", "fork.js"}, map[string]string{"heavy": "split.js", "light": "split.js"}},
		// Nothing in the command line says node: the walker is loaded
		// once node is mapped.
		{"python runs node", []string{"python3", "spawn.py"}, map[string]string{"heavy": "split.js", "light": "split.js"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run.pb.gz")
			var log bytes.Buffer
			_, err := Run(context.Background(), Config{
				Command: c.argv, Freq: 499, Output: out, Log: &log, Plugins: jsPlugins(&log),
			})
			if err != nil {
				t.Fatalf("run: %v\n%s", err, log.String())
			}
			count := map[string]int{}
			for _, s := range testbin.ReadProfile(t, out).Sample {
				for _, l := range s.Location {
					for _, ln := range l.Line {
						file, ok := c.want[ln.Function.Name]
						if !ok || filepath.Base(ln.Function.Filename) != file {
							continue
						}
						if ln.Line <= 0 {
							t.Errorf("%s of %s has no line", ln.Function.Name, ln.Function.Filename)
						}
						count[ln.Function.Name] += int(weight(s))
					}
				}
			}
			for f := range c.want {
				if count[f] < 5 {
					t.Errorf("%s: %d samples (all: %v); log:\n%s", f, count[f], count, log.String())
				}
			}
			if !strings.Contains(log.String(), "are read from V8's memory") {
				t.Errorf("no line says JS frames are read from V8:\n%s", log.String())
			}
		})
	}
}
