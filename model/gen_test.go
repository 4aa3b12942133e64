package model

import "math/rand"

// genTrace writes a conforming trace of n steps (with an init record) as the
// example containers would: mostly posts and comments, some distributes that
// reset the data list, a few registers, and some non-ASCII content.
func genTrace(n int, seed int64) []byte {
	r := rand.New(rand.NewSource(seed))
	words := []string{"hello", "world", "héllo", "日本語", "😀", "tracer", "moltbook", "ok", "shard", "lean"}
	s := State{AgentID: "CICADA-Harbot-0", ShardID: NatOf(0), Data: []Nat{}}
	out := AppendRecord(nil, Record{Kind: KindInit, Impl: "python", PID: 4242, State: s})
	out = append(out, '\n')
	t := uint64(1_000_000_000)
	for seq := 1; seq <= n; seq++ {
		var a Action
		switch k := r.Intn(100); {
		case k < 3:
			a = Action{Type: Register, Name: "CICADA-Harbot-" + string(rune('0'+r.Intn(10)))}
		case k < 50:
			c := ""
			for i := r.Intn(6) + 1; i > 0; i-- {
				c += words[r.Intn(len(words))] + " "
			}
			a = Action{Type: Post, Author: s.AgentID, Content: c}
		case k < 85:
			a = Action{Type: Comment, Author: s.AgentID, Content: words[r.Intn(len(words))]}
		default:
			items := make([]Nat, r.Intn(8))
			for i := range items {
				items[i] = NatOf(uint64(r.Intn(1000)))
			}
			a = Action{Type: Distribute, Items: items}
		}
		s = Transition(s, a)
		out = AppendRecord(out, Record{Kind: KindStep, Seq: uint64(seq), T0: t, T1: t + 1500, TID: 4242, Action: a, State: s})
		out = append(out, '\n')
		t += 5000
	}
	return out
}
