// Package usage holds tracer's one usage-error type: the user's mistakes
// (a wrong flag or value, a missing file, missing privilege), whose message
// says what to do. Any package may return one, wrapped with %w as it likes;
// cmd/tracer finds it with errors.As and exits 2 with its message on one
// line.
package usage

import (
	"errors"
	"fmt"
)

// Error is a usage error.
type Error struct{ Err error }

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a usage error with a message made as fmt.Errorf makes it
// (%w wraps).
func Errorf(format string, args ...any) error {
	return &Error{Err: fmt.Errorf(format, args...)}
}

// Wrap marks err as a usage error; nil stays nil.
func Wrap(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Err: err}
}

// Is says whether err is, or wraps, a usage error.
func Is(err error) bool {
	var ue *Error
	return errors.As(err, &ue)
}
