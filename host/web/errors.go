package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/batchhost/batchhost/host"
)

// statusOf maps a host error to the HTTP status that tells a client what
// to do about it.
func statusOf(err error) int {
	switch {
	case errors.Is(err, host.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, host.ErrInvalid), errors.Is(err, host.ErrCycle), errors.Is(err, host.ErrUnknownTask):
		return http.StatusBadRequest
	case errors.Is(err, host.ErrState), errors.Is(err, host.ErrNotCompleted):
		return http.StatusConflict
	case errors.Is(err, host.ErrQueueFull), errors.Is(err, host.ErrClosed), errors.Is(err, host.ErrFailed), errors.Is(err, host.ErrUnavailable), errors.Is(err, host.ErrNoSpace):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// hostError answers with err's status and message; unexpected errors are
// also logged.
func (s *Server) hostError(w http.ResponseWriter, r *http.Request, err error) {
	st := statusOf(err)
	if st == http.StatusInternalServerError {
		s.opts.Logger.Error("request failed", "path", r.URL.Path, "error", err)
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client left
	}
	s.fail(w, r, st, err.Error())
}

func badRequest(msg string) error { return &requestError{msg} }

// requestError is a request the dashboard itself refuses (a malformed
// filter), answered with 400.
type requestError struct{ msg string }

func (e *requestError) Error() string        { return e.msg }
func (e *requestError) Is(target error) bool { return target == host.ErrInvalid }
