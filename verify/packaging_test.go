package verify

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// flake.nix cannot be built here (no Nix store), but it must parse, and it
// must offer what the README promises.
func TestFlakeParses(t *testing.T) {
	flake := filepath.Join(repoRoot(t), "flake.nix")
	src, err := os.ReadFile(flake)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"buildGoModule", "vendorHash", "lean4", "python-contained", "nodejs-contained", "verify", "devShells.default"} {
		if !strings.Contains(string(src), want) {
			t.Errorf("flake.nix lacks %q", want)
		}
	}
	nix, err := exec.LookPath("nix-instantiate")
	if err != nil {
		t.Skip("nix-instantiate is not installed (apt-get install nix-bin): only the contents were checked")
	}
	if out, err := exec.Command(nix, "--parse", flake).CombinedOutput(); err != nil {
		t.Fatalf("nix-instantiate --parse flake.nix: %v\n%s", err, out)
	}
}

// Every make target that pipelight.toml runs exists in the Makefile.
func TestPipelightTargetsExist(t *testing.T) {
	root := repoRoot(t)
	pipe, err := os.ReadFile(filepath.Join(root, "pipelight.toml"))
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := regexp.MustCompile(`"make (\w+)"`).FindAllStringSubmatch(string(pipe), -1)
	if len(targets) == 0 {
		t.Fatal("pipelight.toml runs no make target")
	}
	for _, m := range targets {
		if !regexp.MustCompile(`(?m)^` + m[1] + `:`).Match(mk) {
			t.Errorf("pipelight.toml runs `make %s`, which the Makefile lacks", m[1])
		}
	}
	if !strings.Contains(string(pipe), "contain_verify") {
		t.Error("pipelight.toml lacks the contain_verify pipeline")
	}
}
