package hooks

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracer-dev/tracer/internal/testbin"
)

// seedText is the design note the two container programs in testdata/seed
// were first printed in; the test compares with it where it is present.
const seedText = "/work/shared/seed/000_cef1da5e7be1fcb7.txt"

// extractFenced returns the body of the first fenced block of language lang
// after the heading line "### name" in text, byte for byte.
func extractFenced(text []byte, name, lang string) []byte {
	i := bytes.Index(text, []byte("### "+name+"\n"))
	if i < 0 {
		return nil
	}
	rest := text[i:]
	open := []byte("```" + lang + "\n")
	j := bytes.Index(rest, open)
	if j < 0 {
		return nil
	}
	body := rest[j+len(open):]
	k := bytes.Index(body, []byte("\n```\n"))
	if k < 0 {
		return nil
	}
	return body[:k+1]
}

// TestSeedContainersAreVerbatim: testdata/seed holds the two container
// programs exactly as the design note prints them, so that the tests run
// them unmodified.
func TestSeedContainersAreVerbatim(t *testing.T) {
	dir := filepath.Join(testbin.Root(), "testdata", "seed")
	text, err := os.ReadFile(seedText)
	if err != nil {
		t.Skipf("the design note %s is not on this machine: nothing to compare with", seedText)
	}
	for _, f := range []struct{ name, lang string }{{"python_container.py", "python"}, {"nodejs_container.js", "javascript"}} {
		want := extractFenced(text, f.name, f.lang)
		if want == nil {
			t.Fatalf("%s: no ```%s block under ### %s", seedText, f.lang, f.name)
		}
		got, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/seed/%s differs from the block in %s (%d bytes, want %d)", f.name, seedText, len(got), len(want))
		}
	}
}
