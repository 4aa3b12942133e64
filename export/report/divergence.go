package report

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/tracer-dev/tracer/model"
)

// DivergenceView is a first divergence as the page shows it: the two states
// side by side, field by field, the differing fields marked.
type DivergenceView struct {
	Title    string // "python against the model", "python ~ node"
	Seq      uint64
	Init     bool // a pair's init records differ
	Action   string
	Relation string
	// ActionJSON is the action as the trace has it; OtherActionJSON the
	// second trace's when a pair's actions differ.
	ActionJSON, OtherActionJSON string
	Where, OtherWhere           string // "python.jsonl line 3"
	ExpectedLabel               string
	ObservedLabel               string
	From                        string // how the expected state came about
	Fields                      []FieldRow
	Differences                 []string
	Other                       string // the verdict under the other relation at this step
}

// FieldRow is one field of the two states; Gap rows stand for equal data
// items left out.
type FieldRow struct {
	Name               string
	Expected, Observed string
	Differs            bool
	Gap                string
}

// dataContext is how many equal data items are shown around a differing
// one, and at each end of the list.
const dataContext = 3

// maxItemRows bounds the data items shown for one divergence.
const maxItemRows = 64

func divergenceView(title string, r *model.Result) *DivergenceView {
	d := r.First
	if d == nil {
		return nil
	}
	v := &DivergenceView{
		Title:       title,
		Seq:         d.Seq,
		Init:        d.Init,
		Action:      d.Action.Type.String(),
		Relation:    d.Relation.String(),
		Where:       where(d.File, d.Line),
		Differences: d.Differences,
		Fields:      stateRows(d.Expected, d.Observed),
	}
	if !d.Init {
		v.ActionJSON = jsonText(d.Action)
	}
	if r.Pair {
		v.OtherWhere = where(d.OtherFile, d.OtherLine)
		v.ExpectedLabel = "first: " + base(r.Files[0])
		v.ObservedLabel = "second: " + base(r.Files[1])
		if d.ActionMismatch {
			v.OtherActionJSON = jsonText(d.OtherAction)
		}
	} else {
		v.ExpectedLabel = "expected (the model)"
		v.ObservedLabel = "observed (" + base(d.File) + ")"
		v.From = fmt.Sprintf("the model's transition of the state observed at step %d by this action", d.PrevSeq)
		if d.PrevSeq == 0 {
			v.From = "the model's transition of the init state by this action"
		}
	}
	other := d.Relation.Other()
	switch {
	case !d.OtherKnown:
		v.Other = fmt.Sprintf("under %s: cannot tell at this step (capped data)", other)
	case d.OtherHolds:
		v.Other = fmt.Sprintf("under %s: holds at this step", other)
	default:
		v.Other = fmt.Sprintf("under %s: also fails at this step", other)
	}
	return v
}

func base(path string) string {
	if path == "" {
		return "the trace"
	}
	return filepath.Base(path)
}

func where(file string, line int) string {
	switch {
	case file != "" && line > 0:
		return fmt.Sprintf("%s line %d", file, line)
	case file != "":
		return file
	case line > 0:
		return fmt.Sprintf("line %d", line)
	}
	return ""
}

func jsonText(v interface{ MarshalJSON() ([]byte, error) }) string {
	b, err := v.MarshalJSON()
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// stateRows lays two states out field by field: agent_id, shard_id, the
// length of data, then its items, the equal ones far from any difference
// folded into gap rows.
func stateRows(exp, obs model.State) []FieldRow {
	rows := []FieldRow{
		{Name: "agent_id", Expected: strconv.Quote(exp.AgentID), Observed: strconv.Quote(obs.AgentID), Differs: exp.AgentID != obs.AgentID},
		{Name: "shard_id", Expected: exp.ShardID.String(), Observed: obs.ShardID.String(), Differs: !exp.ShardID.Equal(obs.ShardID)},
		{Name: "len(data)", Expected: strconv.FormatUint(exp.Len(), 10), Observed: strconv.FormatUint(obs.Len(), 10), Differs: exp.Len() != obs.Len()},
	}
	if exp.DataCapped || obs.DataCapped {
		return append(rows, FieldRow{Name: "data", Gap: "data items are capped in the trace: not compared"})
	}
	n := max(len(exp.Data), len(obs.Data))
	item := func(d []model.Nat, i int) (string, bool) {
		if i < len(d) {
			return d[i].String(), true
		}
		return "—", false
	}
	differs := func(i int) bool {
		return i >= len(exp.Data) || i >= len(obs.Data) || !exp.Data[i].Equal(obs.Data[i])
	}
	// shown marks the items kept: both ends and the neighbourhood of
	// every difference.
	shown := make([]bool, n)
	for i := 0; i < n; i++ {
		if i < dataContext || i >= n-dataContext {
			shown[i] = true
		}
		if differs(i) {
			for j := max(0, i-dataContext); j <= min(n-1, i+dataContext); j++ {
				shown[j] = true
			}
		}
	}
	gap := 0
	flush := func() {
		if gap > 0 {
			rows = append(rows, FieldRow{Gap: fmt.Sprintf("… %d equal %s …", gap, plural(gap, "item", "items"))})
			gap = 0
		}
	}
	items := 0
	for i := 0; i < n; i++ {
		if !shown[i] {
			gap++
			continue
		}
		if items == maxItemRows {
			flush()
			rest := 0
			for j := i; j < n; j++ {
				if differs(j) {
					rest++
				}
			}
			rows = append(rows, FieldRow{Gap: fmt.Sprintf("… %d more items, %d of them differing …", n-i, rest)})
			return rows
		}
		items++
		flush()
		e, _ := item(exp.Data, i)
		o, _ := item(obs.Data, i)
		rows = append(rows, FieldRow{Name: fmt.Sprintf("data[%d]", i), Expected: e, Observed: o, Differs: differs(i)})
	}
	flush()
	return rows
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
