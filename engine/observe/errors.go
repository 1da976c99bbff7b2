package observe

import (
	"errors"
	"fmt"
)

// Sentinel error kinds. Every error Observe returns is an *Error whose
// Unwrap gives one of these, so callers can test with errors.Is and use
// Error.Reason as a low-cardinality metric label or dead-letter reason.
var (
	ErrMalformed     = errors.New("malformed")       // not valid JSON (or unusable input)
	ErrTooLarge      = errors.New("too_large")       // event longer than Options.MaxEventBytes
	ErrTooManyFields = errors.New("too_many_fields") // more than Options.MaxFields JSON values
	ErrTooDeep       = errors.New("too_deep")        // JSON nesting deeper than Options.MaxDepth
	ErrBinary        = errors.New("binary")          // a raw event that is not text (NUL or many control bytes)
)

// Error is an event that could not be observed. Reason is the sentinel's
// name ("malformed", "too_large", "too_many_fields", "too_deep",
// "binary"), Detail says what was wrong, Offset is the byte offset in the
// event where it was found (-1 when not applicable) and Format the format
// that was being decoded.
type Error struct {
	Reason string
	Detail string
	Offset int
	Format Format
	kind   error
}

func newError(kind error, f Format, off int, format string, args ...any) *Error {
	return &Error{Reason: kind.Error(), Detail: fmt.Sprintf(format, args...), Offset: off, Format: f, kind: kind}
}

// Error returns "observe: <format> event: <reason>: <detail> at offset N".
func (e *Error) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("observe: %s event: %s: %s", e.Format, e.Reason, e.Detail)
	}
	return fmt.Sprintf("observe: %s event: %s: %s at offset %d", e.Format, e.Reason, e.Detail, e.Offset)
}

// Unwrap returns the sentinel kind (ErrMalformed, ErrTooLarge, ...).
func (e *Error) Unwrap() error { return e.kind }
