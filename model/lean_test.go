package model

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Lean cannot be built on the development machine or in CI here, so this test
// guards what can be checked without it: the Lean sources hold no sorry,
// admit or axiom, and every theorem that lean/README.md and the property
// tests refer to is stated in lean/MoltbookBisim/Theorems.lean.
func TestLeanSourcesHygiene(t *testing.T) {
	dir := filepath.Join("..", "lean", "MoltbookBisim")
	files, err := filepath.Glob(filepath.Join(dir, "*.lean"))
	if err != nil || len(files) < 3 {
		t.Fatalf("lean sources missing under %s (%v): the Lake project is part of the repository", dir, err)
	}
	forbidden := regexp.MustCompile(`\b(sorry|admit|axiom)\b`)
	comment := regexp.MustCompile(`(?s)/-.*?-/|--[^\n]*`)
	theorems := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		code := comment.ReplaceAllString(string(src), "")
		if m := forbidden.FindString(code); m != "" {
			t.Errorf("%s uses %q", f, m)
		}
		for _, m := range regexp.MustCompile(`(?m)^theorem\s+(\S+)`).FindAllStringSubmatch(code, -1) {
			theorems[m[1]] = true
		}
	}
	for _, name := range []string{
		"bisim_preserved", "init_bisimilar", "bisimilar_refl", "bisimilar_symm", "bisimilar_trans",
		"bisimilar_equivalence", "bisim_preserved_run", "run_init_bisimilar", "transition_shard_id",
		"run_shard_id", "post_length", "post_head", "comment_id",
	} {
		if !theorems[name] {
			t.Errorf("theorem %s is not stated in lean/MoltbookBisim", name)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "lean", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range theorems {
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("lean/README.md does not list theorem %s", name)
		}
	}
}
