package capture

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A traced program can put a FIFO where a file it mapped was: looking up
// the uprobe's symbol there must fail at once, not wait for a writer.
func TestSymbolOffsetRefusesFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "libpython3.11.so.1.0")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		var err error
		if _, ok := TargetForFile(fifo); ok {
			err = errors.New("a FIFO taken for an interpreter")
		}
		if ts := elfTargets(fifo); len(ts) > 0 {
			err = errors.New("a FIFO taken for an executable")
		}
		if _, _, ok := shebang(fifo); ok {
			err = errors.New("a FIFO taken for a script")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("looking up a symbol in a FIFO hangs")
	}
}
