// Package model owns the Moltbook transition system of the Lean specification
// (lean/MoltbookBisim.lean) and everything needed to judge a recorded run
// against it: the state and action types, the transition function, the
// bisimulation relation, the decoder of the JSONL trace format
// (docs/trace-format.md) and the checkers that replay one trace against the
// model or compare two traces with each other.
//
// Each Go definition mirrors one Lean definition clause by clause; lean/README.md
// maps them. Numbers are Lean's Nat: unbounded, carried exactly (see Nat).
//
// The package does no I/O beyond decoding records from an io.Reader. Checking is
// streaming: a Checker holds the previous observed state and a bounded amount of
// bookkeeping, so memory is bounded by the largest state, not the trace length.
package model
