package model

import "fmt"

// Verdict is what a check concluded, from the most to the least serious.
type Verdict uint8

const (
	// Conforming: every step was decoded and checked, nothing in between was
	// lost, and the relation held at each.
	Conforming Verdict = iota + 1
	// Divergent: a step fails the relation (or the gap-spanning check), or a
	// record holds an invalid state or action: a finding about the program.
	Divergent
	// Incomplete: no finding, but some steps could not be checked: a seq gap,
	// an undecodable or out-of-place record, a lost batch, an interrupted
	// check, or nothing checked at all.
	Incomplete
	// NotATrace: records were read but not one line was a record of the
	// trace format (a file that is not a trace at all).
	NotATrace
)

// String returns the verdict's word in reports and in --json.
func (v Verdict) String() string {
	switch v {
	case Conforming:
		return "conforming"
	case Divergent:
		return "divergent"
	case Incomplete:
		return "incomplete"
	case NotATrace:
		return "not a trace"
	}
	return "unknown"
}

// Verdict returns the verdict of r: Divergent as soon as there is a finding,
// else Incomplete when anything could not be checked, else Conforming.
func (r *Result) Verdict() Verdict {
	switch {
	case r.Divergences > 0 || r.Invalid > 0:
		return Divergent
	case r.Undecodable > 0 && r.Steps == 0 && !r.FromInit && r.Lost == 0 && r.OutOfPlace == 0:
		return NotATrace
	case r.Incomplete():
		return Incomplete
	}
	return Conforming
}

// Incomplete reports whether some steps could not be checked: steps not
// observed (a seq gap), undecodable or out-of-place records, lost batches, an
// interrupted check, or no step checked at all.
func (r *Result) Incomplete() bool {
	return r.NotObserved > 0 || r.Undecodable > 0 || r.OutOfPlace > 0 || r.Lost > 0 ||
		r.Interrupted || (r.Checked == 0 && !r.InitCompared)
}

// Divergent reports whether the check found a divergence or an invalid record.
func (r *Result) Divergent() bool { return r.Verdict() == Divergent }

// Interrupt marks r as cut short (the check was stopped before the end of its
// input): its verdict is then at best Incomplete.
func (r *Result) Interrupt() { r.Interrupted = true }

// Problem is one record that could not be used, kept for the report.
type Problem struct {
	Seq  uint64 `json:"seq,omitempty"`  // the step's seq, when known
	Kind string `json:"kind,omitempty"` // the record's kind, when known
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Msg  string `json:"error"`
}

// String renders the problem as file:line: message.
func (p *Problem) String() string {
	return location("", p.File, p.Line) + sep(p.File, p.Line) + p.Msg
}

func sep(file string, line int) string {
	if file == "" && line == 0 {
		return ""
	}
	return ": "
}

// badLine makes the error for a line that did not decode (err from the
// parser): always skippable, and with the record's kind and seq when the line
// is a complete JSON object that names them (an invalid record, not a lost
// one).
func badLine(p *parser, line []byte, file string, lineNo int, err error) *InputError {
	e := &InputError{File: file, Line: lineNo, Msg: err.Error(), Skippable: true}
	e.Kind, e.Seq = recordIdentity(p, line)
	return e
}

// recordIdentity reads the kind (and a step's seq) of a line that is one
// valid JSON object with a "kind" of "init" or "step" (and, for a step, a seq
// of at least 1 below 2^64); otherwise it returns "" and 0. Only the top level
// is looked at; the values of other members are skipped (and validated).
func recordIdentity(p *parser, line []byte) (kind string, seq uint64) {
	saved := p.b
	defer func() { p.b = saved }()
	p.b, p.i = line, 0
	if p.peek() != '{' {
		return "", 0
	}
	p.i++
	var haveSeq bool
	for first := true; ; first = false {
		key, ok, err := p.member(first)
		if err != nil {
			return "", 0
		}
		if !ok {
			break
		}
		switch string(key) {
		case "kind":
			if p.peek() != '"' {
				return "", 0
			}
			b, err := p.str()
			if err != nil {
				return "", 0
			}
			switch string(b) {
			case KindInit, KindStep:
				kind = string(b)
			default:
				return "", 0
			}
		case "seq":
			v, err := p.u64("seq")
			if err != nil || v == 0 {
				return "", 0
			}
			seq, haveSeq = v, true
		default:
			if err := p.skip(0); err != nil {
				return "", 0
			}
		}
	}
	if p.peek() != 0 {
		return "", 0
	}
	switch {
	case kind == KindInit:
		return kind, 0
	case kind == KindStep && haveSeq:
		return kind, seq
	}
	return "", 0
}

// problemOf keeps err (an *InputError, or any error) as a Problem.
func problemOf(err error) *Problem {
	if ie, ok := err.(*InputError); ok {
		return &Problem{Seq: ie.Seq, Kind: ie.Kind, File: ie.File, Line: ie.Line, Msg: ie.Msg}
	}
	return &Problem{Msg: err.Error()}
}

// notATraceError is the error for input with not one record in it.
func notATraceError(name string, first *Problem) *InputError {
	msg := "not a trace: no line is a record of the trace format (docs/trace-format.md)"
	if first != nil {
		msg += fmt.Sprintf("; the first: %s", first)
	}
	return &InputError{File: name, Msg: msg}
}
