package schedule

import "errors"

// ErrInvalid is matched (with [errors.Is]) by every error this package returns for bad input:
// an interval whose End is before its Start, a negative [Buffer], a [Clock] or [Rule] out of
// range, a nil location. The error text names the offending field.
var ErrInvalid = errors.New("invalid input")

// invalidError is a validation failure; its text names the field and it matches [ErrInvalid].
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalid(msg string) error { return &invalidError{msg: msg} }
