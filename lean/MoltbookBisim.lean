/-
The Moltbook transition system (the original specification) and its bisimulation
theorems. `lake build` checks every proof and every `#guard` example.

  MoltbookBisim.Spec      State, Action, transition, run, bisimilar
  MoltbookBisim.Theorems  bisim_preserved, init_bisimilar, reflexivity, symmetry,
                          transitivity, preservation along any list of actions
  MoltbookBisim.Examples  `#guard` examples pinning each clause (mirrored by Go tests)
-/
import MoltbookBisim.Spec
import MoltbookBisim.Theorems
import MoltbookBisim.Examples
