package export

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteFileKeepsADevice: an output given as a FIFO (as /dev/null is a
// device) is written in place, not replaced by a regular file.
func TestWriteFileKeepsADevice(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "out")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("cannot make a FIFO: %v", err)
	}
	got := make(chan []byte)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- b
	}()
	if err := WriteFile(fifo, -1, -1, func(w io.Writer) error { _, err := io.WriteString(w, "profile"); return err }); err != nil {
		t.Fatal(err)
	}
	if b := <-got; string(b) != "profile" {
		t.Errorf("read %q from the FIFO, want %q", b, "profile")
	}
	fi, err := os.Lstat(fifo)
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("%s is no longer a FIFO: %v %v", fifo, fi.Mode(), err)
	}
}
