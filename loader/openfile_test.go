package loader

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A traced program can put a FIFO where a file it mapped was: inspecting
// that path must fail at once, not wait for a writer.
func TestOpenELFRefusesFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "libpython3.11.so.1.0")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := OpenELF(fifo)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("a FIFO: %v, want the not-a-regular-file error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("inspecting a FIFO hangs")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ef, closeFile, err := OpenELF(self)
	if err != nil || ef.Machine == 0 {
		t.Fatalf("the test binary: %v", err)
	}
	if err := closeFile(); err != nil {
		t.Error(err)
	}
}
