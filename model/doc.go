// Package model owns the Moltbook transition system of the Lean specification
// (lean/MoltbookBisim) and everything needed to judge a recorded run against
// it: the state and action types, the transition function, the bisimulation
// relation, the decoder of the JSONL trace format (docs/trace-format.md), and
// the checkers that replay one trace against the model or compare two traces,
// and the verdict they reach: conforming only when every step was decoded and
// checked and nothing in between was lost; across steps not observed, only
// what a Lean theorem fixes (run_shard_id) is checked.
//
// Files:
//
//	spec.go      State, Action, Transition, Run, Bisimilar, Equal: the Lean definitions
//	nat.go       Nat, Lean's unbounded natural (uint64 fast path, math/big beyond)
//	relation.go  Relation: Exact or Bisim (--relation)
//	record.go    Record and the general decoder of one line
//	canonical.go the decoder's fast path for step lines in the canonical layout
//	json.go      the JSON scanner under both
//	decoder.go   Decoder: a trace, one record at a time
//	stepscan.go  the check's one-pass scanner of step lines, any key order and spacing
//	checkfast.go CheckTrace's loop: steps judged in place as written, the rest decoded
//	pipeline.go  parallel decoding for CheckPair, in file order
//	order.go     record order: one init first, seq increasing, gaps
//	checker.go   Checker (live, record by record) and CheckTrace
//	pair.go      CheckPair
//	diff.go      what differs between two states or two actions
//	result.go    Result, Divergence
//	verdict.go   Verdict (conforming, divergent, incomplete), the records that cannot be used
//	chains.go    following steps that carry pre, per thread
//	report.go    the human report; jsonout.go the --json form
//	encode.go    AppendRecord and the trace-format JSON of State and Action
//
// Each Go definition mirrors one Lean definition clause by clause; lean/README.md
// maps them, and the tests mirror each Lean theorem with a property test and
// each #guard example with the same values.
//
// The package does no I/O beyond reading the io.Reader it is given. Checking
// is streaming: a Checker holds the previous observed state and bounded
// bookkeeping, so memory is bounded by the largest state, not the trace length.
package model
