package model

import (
	"fmt"
	"strconv"
)

// maxItemDiffs bounds the item differences listed for one divergence.
const maxItemDiffs = 8

// differences lists what differs between expected and observed, in the form
// "agent_id: "a" ≠ "b"", "shard_id: 0 ≠ 1", "len(data) 5 ≠ 6",
// "data[0]: 2 ≠ 1" (expected ≠ observed). Item differences are listed under
// exact only, over the common prefix, at most maxItemDiffs of them.
func differences(exp, obs State, rel Relation) []string {
	var out []string
	if exp.AgentID != obs.AgentID {
		out = append(out, fmt.Sprintf("agent_id: %s ≠ %s", strconv.Quote(exp.AgentID), strconv.Quote(obs.AgentID)))
	}
	if !exp.ShardID.Equal(obs.ShardID) {
		out = append(out, fmt.Sprintf("shard_id: %s ≠ %s", exp.ShardID, obs.ShardID))
	}
	if exp.Len() != obs.Len() {
		out = append(out, fmt.Sprintf("len(data) %d ≠ %d", exp.Len(), obs.Len()))
	}
	if rel != Exact {
		return out
	}
	if exp.DataCapped || obs.DataCapped {
		return append(out, "data contents not compared: the list is capped in the trace")
	}
	n := min(len(exp.Data), len(obs.Data))
	shown, more := 0, 0
	for i := 0; i < n; i++ {
		if exp.Data[i].Equal(obs.Data[i]) {
			continue
		}
		if shown == maxItemDiffs {
			more++
			continue
		}
		out = append(out, fmt.Sprintf("data[%d]: %s ≠ %s", i, exp.Data[i], obs.Data[i]))
		shown++
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("and %d more differing items", more))
	}
	return out
}

// actionDifferences lists what differs between two actions of a pair.
func actionDifferences(a, b Action) []string {
	if a.Type != b.Type {
		return []string{fmt.Sprintf("type: %s ≠ %s", a.Type, b.Type)}
	}
	var out []string
	switch a.Type {
	case Register:
		if a.Name != b.Name {
			out = append(out, fmt.Sprintf("name: %s ≠ %s", strconv.Quote(a.Name), strconv.Quote(b.Name)))
		}
	case Post, Comment:
		if a.Author != b.Author {
			out = append(out, fmt.Sprintf("author: %s ≠ %s", strconv.Quote(a.Author), strconv.Quote(b.Author)))
		}
		switch {
		case a.ContentCapped || b.ContentCapped:
			if a.ContentLength() != b.ContentLength() {
				out = append(out, fmt.Sprintf("len(content) %d ≠ %d", a.ContentLength(), b.ContentLength()))
			}
		case a.Content != b.Content:
			out = append(out, fmt.Sprintf("content: %s ≠ %s", quoteShort(a.Content), quoteShort(b.Content)))
		}
	case Distribute:
		switch {
		case a.ItemsLength() != b.ItemsLength():
			out = append(out, fmt.Sprintf("len(items) %d ≠ %d", a.ItemsLength(), b.ItemsLength()))
		case !a.ItemsCapped && !b.ItemsCapped:
			for i := range a.Items {
				if !a.Items[i].Equal(b.Items[i]) {
					out = append(out, fmt.Sprintf("items[%d]: %s ≠ %s", i, a.Items[i], b.Items[i]))
					if len(out) == maxItemDiffs {
						break
					}
				}
			}
		}
	}
	return out
}

// actionsEqual reports whether two actions are the same Lean action; capped
// content or items are compared by length.
func actionsEqual(a, b *Action) bool {
	if a.Type != b.Type {
		return false
	}
	switch a.Type {
	case Register:
		return a.Name == b.Name
	case Post, Comment:
		if a.Author != b.Author {
			return false
		}
		if a.ContentCapped || b.ContentCapped {
			return a.ContentLength() == b.ContentLength()
		}
		return a.Content == b.Content
	case Distribute:
		if a.ItemsCapped || b.ItemsCapped {
			return a.ItemsLength() == b.ItemsLength()
		}
		return natsEqual(a.Items, b.Items)
	}
	return true
}

// quoteShort quotes s, shortened to its first 60 scalar values.
func quoteShort(s string) string {
	r := []rune(s)
	if len(r) <= 60 {
		return strconv.Quote(s)
	}
	return strconv.Quote(string(r[:60])) + fmt.Sprintf("… (%d chars)", len(r))
}
