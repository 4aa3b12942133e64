package model

import (
	"unicode/utf8"
	"unsafe"
)

// State mirrors the Lean structure State {agent_id : String, shard_id : Nat,
// data : List Nat}.
//
// A trace may cap a long data list (docs/trace-format.md): then DataCapped is
// set, Data is nil and DataLen holds the list's length. Otherwise DataLen is
// ignored and the length is len(Data); use Len.
type State struct {
	AgentID    string
	ShardID    Nat
	Data       []Nat
	DataCapped bool
	DataLen    uint64 // the length of data when DataCapped
}

// Len is the length of the data list, capped or not.
func (s State) Len() uint64 {
	if s.DataCapped {
		return s.DataLen
	}
	return uint64(len(s.Data))
}

// ActionType names a constructor of the Lean inductive Action.
type ActionType uint8

// The constructors of Action, in the order of the Lean definition.
const (
	Register   ActionType = iota + 1 // register (name : String)
	Post                             // post (author content : String)
	Comment                          // comment (author content : String)
	Distribute                       // distribute (items : List Nat)
)

// actionNames are the trace spellings of the action types.
var actionNames = [...]string{Register: "register", Post: "post", Comment: "comment", Distribute: "distribute"}

// String returns the trace spelling of t ("register", "post", ...).
func (t ActionType) String() string {
	if t >= Register && t <= Distribute {
		return actionNames[t]
	}
	return "unknown"
}

// ActionTypes lists every action type, in Lean order.
var ActionTypes = []ActionType{Register, Post, Comment, Distribute}

// Action mirrors the Lean inductive Action. Only the fields of Type are used:
// Name for register; Author and Content for post and comment; Items for
// distribute.
//
// Capped fields (docs/trace-format.md): when ContentCapped, Content is empty
// and ContentLen holds its length in Unicode scalar values; when ItemsCapped,
// Items is nil and ItemsLen holds the length of the list.
type Action struct {
	Type          ActionType
	Name          string
	Author        string
	Content       string
	ContentCapped bool
	ContentLen    uint64
	Items         []Nat
	ItemsCapped   bool
	ItemsLen      uint64

	// runes is the length of Content in scalar values, counted by the
	// decoder while it scanned the string; valid while Content is the
	// string at runesOf.
	runes   uint64
	runesOf *byte
}

// ContentLength is Lean's String.length of the content: the number of Unicode
// scalar values (not bytes, not UTF-16 code units).
func (a Action) ContentLength() uint64 {
	if a.ContentCapped {
		return a.ContentLen
	}
	if a.runesOf != nil && a.runesOf == unsafe.StringData(a.Content) {
		return a.runes
	}
	return uint64(utf8.RuneCountInString(a.Content))
}

// ItemsLength is the length of the distributed list, capped or not.
func (a Action) ItemsLength() uint64 {
	if a.ItemsCapped {
		return a.ItemsLen
	}
	return uint64(len(a.Items))
}

// Transition is the Lean transition function, clause by clause:
//
//	| register name      => { s with agent_id := name }
//	| post _ content     => { s with data := content.length :: s.data }
//	| comment _ _        => s
//	| distribute items   => { s with data := items }
//
// shard_id never changes. The result never shares its data slice with s or a.
// A capped input gives a capped result whose length is still exact.
func Transition(s State, a Action) State {
	out := State{AgentID: s.AgentID, ShardID: s.ShardID, DataCapped: s.DataCapped, DataLen: s.DataLen}
	switch a.Type {
	case Register:
		out.AgentID = a.Name
		out.Data = cloneNats(s.Data)
	case Post:
		if s.DataCapped {
			out.DataLen = s.DataLen + 1
			break
		}
		out.Data = make([]Nat, 0, len(s.Data)+1)
		out.Data = append(out.Data, NatOf(a.ContentLength()))
		out.Data = append(out.Data, s.Data...)
	case Comment:
		out.Data = cloneNats(s.Data)
	case Distribute:
		out.DataCapped, out.DataLen, out.Data = a.ItemsCapped, a.ItemsLen, cloneNats(a.Items)
		if a.ItemsCapped {
			out.Data = nil
		}
	default:
		out.Data = cloneNats(s.Data)
	}
	return out
}

// Run folds Transition over actions from s: the Lean `run`.
func Run(s State, actions []Action) State {
	s.Data = cloneNats(s.Data) // never share the caller's list
	for _, a := range actions {
		s = Transition(s, a)
	}
	return s
}

// Bisimilar is the Lean relation bisimilar: equal agent_id, equal shard_id and
// equal data length. It is decidable on capped states too.
func Bisimilar(s1, s2 State) bool {
	return s1.AgentID == s2.AgentID && s1.ShardID.Equal(s2.ShardID) && s1.Len() == s2.Len()
}

// Equal reports whether s1 and s2 are the same state. known is false when a
// capped data list hides contents that the other fields leave undecided; then
// equal covers agent_id, shard_id and the data length only.
func Equal(s1, s2 State) (equal, known bool) {
	if !Bisimilar(s1, s2) {
		return false, true
	}
	if s1.DataCapped || s2.DataCapped {
		return true, false
	}
	return natsEqual(s1.Data, s2.Data), true
}

func cloneNats(d []Nat) []Nat {
	if d == nil {
		return nil
	}
	return append(make([]Nat, 0, len(d)), d...)
}
