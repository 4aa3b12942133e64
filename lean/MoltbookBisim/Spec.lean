/-
The specification, clause by clause as originally given. The Go model (model/spec.go)
mirrors each definition; lean/README.md maps them.
-/
namespace MoltbookBisim

/-- The state of one agent. `data` is a list of naturals (unbounded, like Go's
`model.Nat`). -/
structure State where
  agent_id : String
  shard_id : Nat
  data : List Nat
  deriving Repr, DecidableEq

/-- The transition labels. -/
inductive Action where
  | register : String → Action
  | post : String → String → Action
  | comment : String → String → Action
  | distribute : List Nat → Action
  deriving Repr, DecidableEq

/-- The transition system. `String.length` counts Unicode scalar values (Lean's
`Char`s), not bytes and not UTF-16 code units. -/
def transition (s : State) (a : Action) : State :=
  match a with
  | Action.register name => { s with agent_id := name }
  | Action.post _ content => { s with data := content.length :: s.data }
  | Action.comment _ _ => s
  | Action.distribute items => { s with data := items }

/-- Run a list of actions from a state: a left fold of `transition`. -/
def run (s : State) (as : List Action) : State :=
  as.foldl transition s

/-- The bisimulation relation: equal agent, equal shard, equal data length. -/
def bisimilar (s1 s2 : State) : Prop :=
  s1.agent_id = s2.agent_id ∧
  s1.shard_id = s2.shard_id ∧
  s1.data.length = s2.data.length

/-- `bisimilar` is decidable (used by the `#guard` examples). -/
instance (s1 s2 : State) : Decidable (bisimilar s1 s2) :=
  inferInstanceAs (Decidable (s1.agent_id = s2.agent_id ∧
    s1.shard_id = s2.shard_id ∧ s1.data.length = s2.data.length))

end MoltbookBisim
