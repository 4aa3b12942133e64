/-
Examples pinning each clause of `transition`, checked by `lake build`. Each is
mirrored with the same values by `TestLeanGuards` in model/spec_test.go.
-/
import MoltbookBisim.Spec

namespace MoltbookBisim

def s0 : State := { agent_id := "CICADA-Harbot-0", shard_id := 0, data := [] }

-- String.length counts Unicode scalar values.
#guard "héllo".length == 5
#guard "😀".length == 1
#guard "日本語".length == 3

-- post prepends the content's length.
#guard (transition s0 (Action.post "a" "héllo")).data == [5]
#guard (transition s0 (Action.post "a" "😀")).data == [1]
#guard (transition ({ agent_id := "a", shard_id := 0, data := [3] } : State)
          (Action.post "a" "日本語")).data == [3, 3]

-- register sets agent_id and nothing else.
#guard transition s0 (Action.register "agent-7") ==
  ({ agent_id := "agent-7", shard_id := 0, data := [] } : State)

-- comment changes nothing.
#guard transition ({ agent_id := "a", shard_id := 2, data := [1, 2] } : State)
          (Action.comment "b" "hi") ==
  ({ agent_id := "a", shard_id := 2, data := [1, 2] } : State)

-- distribute replaces data.
#guard transition ({ agent_id := "a", shard_id := 2, data := [1, 2] } : State)
          (Action.distribute [7, 8, 9]) ==
  ({ agent_id := "a", shard_id := 2, data := [7, 8, 9] } : State)

-- run folds transition.
#guard run s0 [Action.register "b", Action.post "b" "héllo", Action.post "b" "ok",
               Action.comment "b" "c"] ==
  ({ agent_id := "b", shard_id := 0, data := [2, 5] } : State)

-- bisimilar compares agent_id, shard_id and the data length only.
#guard decide (bisimilar ({ agent_id := "a", shard_id := 1, data := [1, 2] } : State)
                         ({ agent_id := "a", shard_id := 1, data := [5, 6] } : State))
#guard !decide (bisimilar ({ agent_id := "a", shard_id := 1, data := [1] } : State)
                          ({ agent_id := "a", shard_id := 1, data := [1, 2] } : State))
#guard !decide (bisimilar ({ agent_id := "a", shard_id := 1, data := [] } : State)
                          ({ agent_id := "b", shard_id := 1, data := [] } : State))

end MoltbookBisim
