package model

import (
	"math/big"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"
)

// The tests below mirror lean/MoltbookBisim: one test per clause of transition,
// the #guard examples with the same values, and a property test per theorem.

func st(agent string, shard uint64, data ...uint64) State {
	s := State{AgentID: agent, ShardID: NatOf(shard), Data: []Nat{}}
	for _, d := range data {
		s.Data = append(s.Data, NatOf(d))
	}
	return s
}

func mustEqual(t *testing.T, got, want State) {
	t.Helper()
	if eq, known := Equal(got, want); !eq || !known {
		t.Fatalf("got %s, want %s", appendState(nil, got, -1), appendState(nil, want, -1))
	}
}

func TestTransitionRegister(t *testing.T) {
	s := st("old", 3, 1, 2)
	got := Transition(s, Action{Type: Register, Name: "new"})
	mustEqual(t, got, st("new", 3, 1, 2))
}

func TestTransitionPostPrependsScalarCount(t *testing.T) {
	for _, tc := range []struct {
		content string
		want    uint64
	}{
		{"", 0},
		{"hello", 5},
		{"héllo", 5},              // 6 bytes
		{"日本語", 3},                // 9 bytes
		{"😀", 1},                  // 4 bytes, 2 UTF-16 units
		{"👍🏽", 2},                 // thumbs up + skin tone modifier
		{"e\u0301", 2},            // e + combining accent: two scalar values
		{"a\u0000b", 3},           // NUL is a character
		{"\U0001D11E clef", 6},    // 𝄞 + " clef"
		{string(rune(0xFFFD)), 1}, // replacement character
	} {
		got := Transition(st("a", 0, 7), Action{Type: Post, Author: "a", Content: tc.content})
		mustEqual(t, got, st("a", 0, tc.want, 7))
	}
}

func TestTransitionComment(t *testing.T) {
	s := st("a", 1, 4, 5)
	mustEqual(t, Transition(s, Action{Type: Comment, Author: "b", Content: "hi"}), s)
}

func TestTransitionDistribute(t *testing.T) {
	s := st("a", 1, 4, 5)
	items := []Nat{NatOf(9), NatOf(8), NatOf(7)}
	got := Transition(s, Action{Type: Distribute, Items: items})
	mustEqual(t, got, st("a", 1, 9, 8, 7))
	items[0] = NatOf(0) // the result does not share the action's list
	mustEqual(t, got, st("a", 1, 9, 8, 7))
	mustEqual(t, Transition(s, Action{Type: Distribute, Items: []Nat{}}), st("a", 1))
}

func TestTransitionShardNeverChanges(t *testing.T) {
	huge, _ := ParseNat("340282366920938463463374607431768211457")
	for _, a := range sampleActions() {
		s := State{AgentID: "x", ShardID: huge, Data: []Nat{NatOf(1)}}
		if got := Transition(s, a); !got.ShardID.Equal(huge) {
			t.Fatalf("%s changed shard_id to %s", a.Type, got.ShardID)
		}
	}
}

func TestTransitionCapped(t *testing.T) {
	s := State{AgentID: "a", DataCapped: true, DataLen: 1500}
	if got := Transition(s, Action{Type: Post, Content: "xy"}); got.Len() != 1501 || !got.DataCapped {
		t.Fatalf("post on capped: len %d capped %v", got.Len(), got.DataCapped)
	}
	if got := Transition(s, Action{Type: Distribute, Items: []Nat{NatOf(1)}}); got.Len() != 1 || got.DataCapped {
		t.Fatalf("distribute on capped: len %d capped %v", got.Len(), got.DataCapped)
	}
	if got := Transition(st("a", 0), Action{Type: Distribute, ItemsCapped: true, ItemsLen: 4000}); got.Len() != 4000 || !got.DataCapped {
		t.Fatalf("capped distribute: len %d capped %v", got.Len(), got.DataCapped)
	}
	if got := Transition(st("a", 0), Action{Type: Post, ContentCapped: true, ContentLen: 5000}); !got.Data[0].Equal(NatOf(5000)) {
		t.Fatalf("capped post: data %v", got.Data)
	}
}

// TestLeanGuards mirrors the #guard lines of lean/MoltbookBisim/Examples.lean.
func TestLeanGuards(t *testing.T) {
	s0 := st("CICADA-Harbot-0", 0)
	mustEqual(t, Transition(s0, Action{Type: Post, Author: "a", Content: "héllo"}), st("CICADA-Harbot-0", 0, 5))
	mustEqual(t, Transition(s0, Action{Type: Post, Author: "a", Content: "😀"}), st("CICADA-Harbot-0", 0, 1))
	mustEqual(t, Transition(st("a", 0, 3), Action{Type: Post, Author: "a", Content: "日本語"}), st("a", 0, 3, 3))
	mustEqual(t, Transition(s0, Action{Type: Register, Name: "agent-7"}), st("agent-7", 0))
	mustEqual(t, Transition(st("a", 2, 1, 2), Action{Type: Comment, Author: "b", Content: "hi"}), st("a", 2, 1, 2))
	mustEqual(t, Transition(st("a", 2, 1, 2), Action{Type: Distribute, Items: []Nat{NatOf(7), NatOf(8), NatOf(9)}}), st("a", 2, 7, 8, 9))
	run := Run(s0, []Action{
		{Type: Register, Name: "b"},
		{Type: Post, Author: "b", Content: "héllo"},
		{Type: Post, Author: "b", Content: "ok"},
		{Type: Comment, Author: "b", Content: "c"},
	})
	mustEqual(t, run, st("b", 0, 2, 5))
	if !Bisimilar(st("a", 1, 1, 2), st("a", 1, 5, 6)) {
		t.Error("bisimilar {a,1,[1,2]} {a,1,[5,6]} should hold")
	}
	if Bisimilar(st("a", 1, 1), st("a", 1, 1, 2)) {
		t.Error("bisimilar {a,1,[1]} {a,1,[1,2]} should not hold")
	}
	if Bisimilar(st("a", 1), st("b", 1)) {
		t.Error("bisimilar {a,1,[]} {b,1,[]} should not hold")
	}
}

// A generated state or action for testing/quick: small alphabets make related
// states likely, and some numbers exceed 64 bits.
type genState struct{ S State }
type genAction struct{ A Action }

var alphabet = []string{"", "a", "b", "é", "😀", "日本"}

func randNat(r *rand.Rand) Nat {
	switch r.Intn(8) {
	case 0:
		b := new(big.Int).Lsh(big.NewInt(1), uint(64+r.Intn(80)))
		n, _ := NatFromBig(b.Add(b, big.NewInt(int64(r.Intn(3)))))
		return n
	case 1:
		return NatOf(^uint64(0) - uint64(r.Intn(2)))
	}
	return NatOf(uint64(r.Intn(4)))
}

func randNats(r *rand.Rand) []Nat {
	d := make([]Nat, r.Intn(4))
	for i := range d {
		d[i] = randNat(r)
	}
	return d
}

func randText(r *rand.Rand) string {
	s := ""
	for i := r.Intn(4); i > 0; i-- {
		s += alphabet[r.Intn(len(alphabet))]
	}
	return s
}

func randState(r *rand.Rand) State {
	return State{AgentID: alphabet[r.Intn(3)], ShardID: NatOf(uint64(r.Intn(2))), Data: randNats(r)}
}

func randAction(r *rand.Rand) Action {
	switch ActionTypes[r.Intn(4)] {
	case Register:
		return Action{Type: Register, Name: alphabet[r.Intn(3)]}
	case Post:
		return Action{Type: Post, Author: "a", Content: randText(r)}
	case Comment:
		return Action{Type: Comment, Author: "a", Content: randText(r)}
	}
	return Action{Type: Distribute, Items: randNats(r)}
}

func (genState) Generate(r *rand.Rand, _ int) reflect.Value {
	return reflect.ValueOf(genState{randState(r)})
}

func (genAction) Generate(r *rand.Rand, _ int) reflect.Value {
	return reflect.ValueOf(genAction{randAction(r)})
}

var quickCfg = &quick.Config{MaxCount: 3000, Rand: rand.New(rand.NewSource(1))}

func check(t *testing.T, name string, f any) {
	t.Helper()
	if err := quick.Check(f, quickCfg); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

// bisim_preserved: bisimilar s1 s2 → bisimilar (transition s1 a) (transition s2 a).
func TestPropBisimPreserved(t *testing.T) {
	check(t, "bisim_preserved", func(x, y genState, a genAction) bool {
		return !Bisimilar(x.S, y.S) || Bisimilar(Transition(x.S, a.A), Transition(y.S, a.A))
	})
	// The generator must produce related pairs, or the property is vacuous.
	r := rand.New(rand.NewSource(2))
	related := 0
	for i := 0; i < 1000; i++ {
		if Bisimilar(randState(r), randState(r)) {
			related++
		}
	}
	if related < 20 {
		t.Fatalf("only %d of 1000 generated pairs are bisimilar", related)
	}
}

// init_bisimilar: bisimilar {id, shard, []} {id, shard, []}.
func TestPropInitBisimilar(t *testing.T) {
	check(t, "init_bisimilar", func(id string, shard uint64) bool {
		return Bisimilar(State{AgentID: id, ShardID: NatOf(shard)}, State{AgentID: id, ShardID: NatOf(shard), Data: []Nat{}})
	})
}

func TestPropBisimilarRefl(t *testing.T) {
	check(t, "bisimilar_refl", func(x genState) bool { return Bisimilar(x.S, x.S) })
}

func TestPropBisimilarSymm(t *testing.T) {
	check(t, "bisimilar_symm", func(x, y genState) bool { return Bisimilar(x.S, y.S) == Bisimilar(y.S, x.S) })
}

func TestPropBisimilarTrans(t *testing.T) {
	check(t, "bisimilar_trans", func(x, y, z genState) bool {
		return !(Bisimilar(x.S, y.S) && Bisimilar(y.S, z.S)) || Bisimilar(x.S, z.S)
	})
}

// bisim_preserved_run: bisimilarity is preserved along any list of actions.
func TestPropBisimPreservedRun(t *testing.T) {
	check(t, "bisim_preserved_run", func(x, y genState, as []genAction) bool {
		acts := make([]Action, len(as))
		for i := range as {
			acts[i] = as[i].A
		}
		return !Bisimilar(x.S, y.S) || Bisimilar(Run(x.S, acts), Run(y.S, acts))
	})
}

// transition_shard_id and run_shard_id: shard_id never changes.
func TestPropShardInvariant(t *testing.T) {
	check(t, "transition_shard_id", func(x genState, a genAction) bool {
		return Transition(x.S, a.A).ShardID.Equal(x.S.ShardID)
	})
}

// post_length: a post makes data one longer; distribute makes it len(items).
func TestPropLengths(t *testing.T) {
	check(t, "post_length", func(x genState, c string) bool {
		return Transition(x.S, Action{Type: Post, Content: c}).Len() == x.S.Len()+1
	})
	check(t, "distribute_length", func(x genState, a genAction) bool {
		return a.A.Type != Distribute || Transition(x.S, a.A).Len() == uint64(len(a.A.Items))
	})
}

// The checker's fast judgement agrees with Equal and Bisimilar applied to the
// model's Transition.
func TestPropStepHoldsAgreesWithTransition(t *testing.T) {
	check(t, "stepHolds", func(x, y genState, a genAction) bool {
		exp := Transition(x.S, a.A)
		obs := y.S
		if a.A.Type == Post && len(obs.Data) > 0 && obs.Len() == exp.Len() && randBit(obs) {
			obs.Data[0] = exp.Data[0] // make the exact case likely too
		}
		exact, known, bisim := stepHolds(&x.S, &a.A, &obs)
		eq, eqKnown := Equal(exp, obs)
		return known == eqKnown && exact == eq && bisim == Bisimilar(exp, obs)
	})
	// Observations built from the model itself always hold.
	check(t, "stepHolds/self", func(x genState, a genAction) bool {
		obs := Transition(x.S, a.A)
		exact, known, bisim := stepHolds(&x.S, &a.A, &obs)
		return exact && known && bisim
	})
}

func randBit(s State) bool { return len(s.AgentID)%2 == 0 }

func sampleActions() []Action {
	return []Action{
		{Type: Register, Name: "n"},
		{Type: Post, Author: "a", Content: "héllo"},
		{Type: Comment, Author: "a", Content: "c"},
		{Type: Distribute, Items: []Nat{NatOf(1), NatOf(2)}},
	}
}
