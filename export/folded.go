package export

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteFolded writes p as folded stacks, the input of flamegraph.pl: one
// line per distinct stack, "comm;root;…;leaf COUNT", sorted. The command
// name is the root frame, as in perf script output folded by
// stackcollapse-perf.pl.
func WriteFolded(w io.Writer, p *Profile) error {
	counts := map[string]int{}
	var sb strings.Builder
	for i := range p.Samples {
		s := &p.Samples[i]
		sb.Reset()
		comm := s.Comm
		if comm == "" {
			comm = fmt.Sprintf("pid-%d", s.PID)
		}
		sb.WriteString(foldedName(comm))
		for j := len(s.Stack) - 1; j >= 0; j-- {
			sb.WriteByte(';')
			sb.WriteString(foldedName(frameLabel(s.Stack[j])))
		}
		counts[sb.String()] += s.Weight()
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bw := bufio.NewWriter(w)
	for _, k := range keys {
		fmt.Fprintf(bw, "%s %d\n", k, counts[k])
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write folded stacks: %w", err)
	}
	return nil
}

// foldedName keeps a frame name from breaking the line format: ';' separates
// frames and a line ends at a newline.
var foldedReplacer = strings.NewReplacer(";", ":", "\n", " ", "\r", " ")

func foldedName(s string) string { return foldedReplacer.Replace(s) }
