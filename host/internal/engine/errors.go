package engine

import (
	"fmt"

	"github.com/batchhost/batchhost/host/internal/backend"
)

// kindError is a message that matches one of the port's sentinels under
// errors.Is without repeating the sentinel's text.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }
func kindErr(kind error, format string, args ...any) error {
	return &kindError{kind, fmt.Sprintf(format, args...)}
}

func stateErr(format string, args ...any) error {
	return kindErr(backend.ErrState, format, args...)
}
