package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5"

	"fmt"

	"github.com/batchhost/batchhost/host/internal/backend"
)

// storeError is a refusal of the port: it matches its sentinel under
// errors.Is and says which id or value is at fault.
type storeError struct {
	sentinel error
	msg      string
}

func (e *storeError) Error() string { return e.msg }
func (e *storeError) Unwrap() error { return e.sentinel }

func storeErr(sentinel error, format string, args ...any) error {
	return &storeError{sentinel: sentinel, msg: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) error {
	return storeErr(backend.ErrInvalid, format, args...)
}

func notFound(format string, args ...any) error {
	return storeErr(backend.ErrNotFound, format, args...)
}

func stateErr(format string, args ...any) error {
	return storeErr(backend.ErrState, format, args...)
}

func conflict(format string, args ...any) error {
	return storeErr(backend.ErrConflict, format, args...)
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
