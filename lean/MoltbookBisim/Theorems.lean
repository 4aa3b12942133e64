/-
The theorems. Proofs are deliberately explicit: each hypothesis is restated in
its unfolded form (`have ... := h`, checked by definitional unfolding) and
destructured, each goal is restated with `show`, and arithmetic is left to
`omega` on plain facts about list lengths. The original `post` case did not go
through because `omega` cannot see inside `bisimilar`; here it never has to.
-/
import MoltbookBisim.Spec

namespace MoltbookBisim

/-- shard_id never changes. -/
theorem transition_shard_id (s : State) (a : Action) :
    (transition s a).shard_id = s.shard_id := by
  cases a <;> rfl

/-- A post makes the data list one longer. -/
theorem post_length (s : State) (author content : String) :
    (transition s (Action.post author content)).data.length = s.data.length + 1 := by
  show (content.length :: s.data).length = s.data.length + 1
  rw [List.length_cons]

/-- A post puts the content's length in front. -/
theorem post_head (s : State) (author content : String) :
    (transition s (Action.post author content)).data = content.length :: s.data := rfl

/-- A comment changes nothing. -/
theorem comment_id (s : State) (author content : String) :
    transition s (Action.comment author content) = s := rfl

/-- Bisimulation is preserved by transitions (the original theorem). -/
theorem bisim_preserved (s1 s2 : State) (a : Action) :
    bisimilar s1 s2 → bisimilar (transition s1 a) (transition s2 a) := by
  intro h
  have h' : s1.agent_id = s2.agent_id ∧ s1.shard_id = s2.shard_id ∧
      s1.data.length = s2.data.length := h
  obtain ⟨h1, h2, h3⟩ := h'
  cases a with
  | register name =>
    show name = name ∧ s1.shard_id = s2.shard_id ∧ s1.data.length = s2.data.length
    exact ⟨rfl, h2, h3⟩
  | post author content =>
    show s1.agent_id = s2.agent_id ∧ s1.shard_id = s2.shard_id ∧
      (content.length :: s1.data).length = (content.length :: s2.data).length
    refine ⟨h1, h2, ?_⟩
    rw [List.length_cons, List.length_cons]
    omega
  | comment author content =>
    show s1.agent_id = s2.agent_id ∧ s1.shard_id = s2.shard_id ∧
      s1.data.length = s2.data.length
    exact ⟨h1, h2, h3⟩
  | distribute items =>
    show s1.agent_id = s2.agent_id ∧ s1.shard_id = s2.shard_id ∧
      items.length = items.length
    exact ⟨h1, h2, rfl⟩

/-- bisimilar is reflexive. -/
theorem bisimilar_refl (s : State) : bisimilar s s := by
  show s.agent_id = s.agent_id ∧ s.shard_id = s.shard_id ∧ s.data.length = s.data.length
  exact ⟨rfl, rfl, rfl⟩

/-- bisimilar is symmetric. -/
theorem bisimilar_symm {s1 s2 : State} (h : bisimilar s1 s2) : bisimilar s2 s1 := by
  have h' : s1.agent_id = s2.agent_id ∧ s1.shard_id = s2.shard_id ∧
      s1.data.length = s2.data.length := h
  obtain ⟨h1, h2, h3⟩ := h'
  show s2.agent_id = s1.agent_id ∧ s2.shard_id = s1.shard_id ∧
    s2.data.length = s1.data.length
  exact ⟨h1.symm, h2.symm, h3.symm⟩

/-- bisimilar is transitive. -/
theorem bisimilar_trans {s1 s2 s3 : State} (h : bisimilar s1 s2) (g : bisimilar s2 s3) :
    bisimilar s1 s3 := by
  have h' : s1.agent_id = s2.agent_id ∧ s1.shard_id = s2.shard_id ∧
      s1.data.length = s2.data.length := h
  have g' : s2.agent_id = s3.agent_id ∧ s2.shard_id = s3.shard_id ∧
      s2.data.length = s3.data.length := g
  obtain ⟨h1, h2, h3⟩ := h'
  obtain ⟨g1, g2, g3⟩ := g'
  show s1.agent_id = s3.agent_id ∧ s1.shard_id = s3.shard_id ∧
    s1.data.length = s3.data.length
  exact ⟨h1.trans g1, h2.trans g2, h3.trans g3⟩

/-- bisimilar is an equivalence relation. -/
theorem bisimilar_equivalence : Equivalence bisimilar :=
  { refl := bisimilar_refl,
    symm := fun h => bisimilar_symm h,
    trans := fun h g => bisimilar_trans h g }

/-- Initial states are bisimilar (the original theorem). -/
theorem init_bisimilar (id : String) (shard : Nat) :
    bisimilar
      { agent_id := id, shard_id := shard, data := [] }
      { agent_id := id, shard_id := shard, data := [] } :=
  bisimilar_refl { agent_id := id, shard_id := shard, data := [] }

theorem run_nil (s : State) : run s [] = s := rfl

theorem run_cons (s : State) (a : Action) (rest : List Action) :
    run s (a :: rest) = run (transition s a) rest := rfl

/-- Bisimilarity is preserved along any list of actions. -/
theorem bisim_preserved_run (as : List Action) :
    ∀ (s1 s2 : State), bisimilar s1 s2 → bisimilar (run s1 as) (run s2 as) := by
  induction as with
  | nil =>
    intro s1 s2 h
    rw [run_nil, run_nil]
    exact h
  | cons a rest ih =>
    intro s1 s2 h
    rw [run_cons, run_cons]
    exact ih (transition s1 a) (transition s2 a) (bisim_preserved s1 s2 a h)

/-- Two runs of the same actions from the same initial state are bisimilar. -/
theorem run_init_bisimilar (id : String) (shard : Nat) (as : List Action) :
    bisimilar
      (run { agent_id := id, shard_id := shard, data := [] } as)
      (run { agent_id := id, shard_id := shard, data := [] } as) :=
  bisim_preserved_run as _ _ (init_bisimilar id shard)

/-- shard_id never changes along a run. -/
theorem run_shard_id (as : List Action) :
    ∀ (s : State), (run s as).shard_id = s.shard_id := by
  induction as with
  | nil =>
    intro s
    rfl
  | cons a rest ih =>
    intro s
    rw [run_cons, ih (transition s a), transition_shard_id]

end MoltbookBisim
