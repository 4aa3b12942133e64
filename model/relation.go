package model

import "fmt"

// Relation is how an observed state must relate to the expected one.
type Relation uint8

const (
	// Exact: the observed state equals the expected state.
	Exact Relation = iota + 1
	// Bisim: the Lean relation bisimilar holds (equal agent_id, equal
	// shard_id, equal data length).
	Bisim
)

// String returns the flag spelling of r ("exact", "bisim").
func (r Relation) String() string {
	switch r {
	case Exact:
		return "exact"
	case Bisim:
		return "bisim"
	}
	return "unknown"
}

// Other returns the relation that r is not.
func (r Relation) Other() Relation {
	if r == Bisim {
		return Exact
	}
	return Bisim
}

// ParseRelation parses "exact" or "bisim".
func ParseRelation(s string) (Relation, error) {
	switch s {
	case "exact":
		return Exact, nil
	case "bisim":
		return Bisim, nil
	}
	return 0, fmt.Errorf("unknown relation %q: use exact or bisim", s)
}
