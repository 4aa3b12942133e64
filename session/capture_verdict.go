package session

import (
	"fmt"
	"strconv"

	"github.com/tracer-dev/tracer/capture"
	"github.com/tracer-dev/tracer/model"
)

// writePayload appends a batch to the trace file, ending it with a newline
// when the program did not: the file then splits into the same lines the live
// check decoded, so tracer check on it reaches the same verdict.
func (p *traceProc) writePayload(b []byte) error {
	if p.w == nil {
		return nil
	}
	if _, err := p.w.Write(b); err != nil {
		return fmt.Errorf("write trace %s: %w", p.path, err)
	}
	if n := len(b); n > 0 && b[n-1] != '\n' {
		if err := p.w.WriteByte('\n'); err != nil {
			return fmt.Errorf("write trace %s: %w", p.path, err)
		}
	}
	return nil
}

// lost records that n batches (0: an unknown number) of this process were
// lost: a lost record in the trace file (the trace format's "lost" kind) and
// the same record fed to the live check, so both call the verdict incomplete.
func (p *traceProc) lost(n uint64, reason string) error {
	if err := p.checker.Feed(model.Record{Kind: model.KindLost, Lost: n}); err != nil {
		return err
	}
	if p.w == nil {
		return nil
	}
	line := `{"kind":"lost","batches":` + strconv.FormatUint(n, 10) + `,"reason":` + strconv.Quote(reason) + "}\n"
	if _, err := p.w.WriteString(line); err != nil {
		return fmt.Errorf("write trace %s: %w", p.path, err)
	}
	return nil
}

// unattributedLoss is what the capture lost without knowing whose it was:
// batches lost to a full ring, unreadable or malformed writes, undecodable
// frames (n counts them), and execs not seen or not attached (any is set,
// with n possibly 0: an unknown number). Every traced process may have lost
// steps to them.
func unattributedLoss(st capture.CaptureStats) (n uint64, any bool) {
	n = st.RingFull + st.Malformed + st.ReadFail + st.BadFrames
	return n, n+st.ExecLost+st.AttachErrors > 0
}
