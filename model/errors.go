package model

import "fmt"

// InputError is malformed input: a line that is not a trace-format record, or a
// record out of place (seq not increasing, a second init). File and Line name
// where; Line is 0 when the problem is the whole file (an empty trace).
type InputError struct {
	File string
	Line int
	Msg  string
	// Skippable is set when the error is about this one line: reading can go
	// on past it (the checkers count it and go on).
	Skippable bool
	// Kind and Seq are set when the line is a JSON object that says which
	// record it is (kind "init", or "step" and its seq) but whose content is
	// invalid: a negative or fractional natural, a missing field, an unknown
	// action. That is a finding about the program that wrote it, not a record
	// lost in transport.
	Kind string
	Seq  uint64
}

func (e *InputError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return e.File + ": " + e.Msg
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// inputErrorf makes an InputError for rec's place in its file.
func inputErrorf(rec *Record, format string, args ...any) *InputError {
	return &InputError{File: rec.File, Line: rec.Line, Msg: fmt.Sprintf(format, args...)}
}
