package capture

import (
	"errors"
	"os"
	"testing"

	"github.com/cilium/ebpf/link"
)

// TestCloseRemovesUprobes checks that the uprobes a Capture placed are gone
// after Close, though the helper process, not Close, waits for their
// removal (release.go): each uprobe link, looked up by its ID, ceases to
// exist.
func TestCloseRemovesUprobes(t *testing.T) {
	requireCapture(t)
	requireFile(t, nodeBin)
	cmd, _ := gatedCmd(t, nodeBin, "-e", "process.stdin.resume()")
	pid := cmd.Process.Pid
	if _, err := waitTargets(pid); err != nil {
		t.Fatal(err)
	}
	c, err := NewCapture(CaptureOptions{RingBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := c.AttachProcess(pid)
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	var ids []link.ID
	for _, a := range c.links {
		info, err := a.link.Info()
		if err != nil {
			c.Close()
			t.Fatalf("link info: %v", err)
		}
		ids = append(ids, info.ID)
	}
	if len(ids) != len(ts) || len(ids) == 0 {
		c.Close()
		t.Fatalf("%d links for %d targets (%v)", len(ids), len(ts), ts)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for _, id := range ids {
		gone := false
		for range 20000 { // the helper removes it; up to 20 s on a busy machine
			l, err := link.NewFromID(id)
			if errors.Is(err, os.ErrNotExist) {
				gone = true
				break
			}
			if err == nil {
				l.Close()
			}
			sleepBrief()
		}
		if !gone {
			t.Errorf("uprobe link %d still exists after Close", id)
		}
	}
}
