package testbin

import (
	"bytes"
	"os"
	"testing"

	"github.com/tracer-dev/tracer/model"
)

// Step is one step record of a trace, with the state it started from when
// the record carries one ("pre", as the --transition hooks write).
type Step struct {
	Seq    uint64
	TID    int
	Action model.Action
	Pre    *model.State
	State  model.State
}

// ReadSteps reads the init state (nil when there is none) and the steps of a
// trace file, failing the test on a malformed record.
func ReadSteps(t testing.TB, path string) (*model.State, []Step) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var init *model.State
	var steps []Step
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rec, err := model.DecodeRecord(line)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, i+1, err)
		}
		if rec.Kind == model.KindInit {
			s := rec.State
			init = &s
			continue
		}
		st := Step{Seq: rec.Seq, TID: rec.TID, Action: rec.Action, State: rec.State}
		if rec.HasPre {
			pre := rec.Pre
			st.Pre = &pre
		}
		steps = append(steps, st)
	}
	return init, steps
}

// CheckFromPre fails the test unless every step has a pre and its state is
// the model's transition of its pre by its action.
func CheckFromPre(t testing.TB, steps []Step) {
	t.Helper()
	for _, s := range steps {
		if s.Pre == nil {
			t.Fatalf("step %d has no pre", s.Seq)
		}
		want := model.Transition(*s.Pre, s.Action)
		if eq, _ := model.Equal(want, s.State); !eq {
			t.Fatalf("step %d (%s): state %+v, the model gives %+v from pre %+v", s.Seq, s.Action.Type, s.State, want, *s.Pre)
		}
	}
}
