package bugstack

import "fmt"

// stackError carries the stack of the code that made it, for errors that would otherwise be reported
// with the stack of wherever they are captured. Reports show the error it wraps, with this stack.
type stackError struct {
	err   error
	stack capturedStack
}

func (e *stackError) Error() string { return e.err.Error() }

func (e *stackError) Unwrap() error { return e.err }

// Errorf is fmt.Errorf (with %w, the result wraps its operand) that also records the stack of the code
// that calls it: a report of the error, wherever it is captured, shows where it was made.
func Errorf(format string, args ...interface{}) error {
	return &stackError{err: fmt.Errorf(format, args...), stack: callers(false)}
}

// WithStack returns `err` with the stack of the code that calls it, nil for nil. errors.Is and errors.As
// see through it.
func WithStack(err error) error {
	if err == nil {
		return nil
	}
	return &stackError{err: err, stack: callers(false)}
}
