package sdk

import (
	"errors"
	"fmt"
	"time"

	"github.com/batchhost/batchhost/proto/pluginpb"
)

// kindError carries the host-facing intent of an error returned by a task:
// its kind, whether a retry can help, and how long to wait first. It wraps
// the task's error, so errors.Is and errors.As see through it.
type kindError struct {
	err        error
	kind       pluginpb.ErrorKind
	retryable  bool
	retryAfter time.Duration
}

func (e *kindError) Error() string { return e.err.Error() }
func (e *kindError) Unwrap() error { return e.err }

// Permanent marks err as permanent: the job fails at once with kind
// permanent and is never retried, whatever attempts are left. Use it when
// the same input would fail the same way again. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &kindError{err: err, kind: pluginpb.ErrorKind_ERROR_KIND_PERMANENT}
}

// RetryAfter marks err as retryable after d: if the job has attempts left,
// the host waits d (instead of its backoff) before the next attempt. Use it
// for rate limits and busy resources. A negative d counts as zero, which
// leaves the host's backoff in charge. RetryAfter(nil, d) is nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &kindError{err: err, kind: pluginpb.ErrorKind_ERROR_KIND_TASK_ERROR, retryable: true, retryAfter: max(d, 0)}
}

// InvalidArgs marks err as a problem with the job's arguments (kind
// invalid_args, never retried). NewTask already reports args that do not
// decode this way; use it for checks of your own. InvalidArgs(nil) is nil.
func InvalidArgs(err error) error {
	if err == nil {
		return nil
	}
	return &kindError{err: err, kind: pluginpb.ErrorKind_ERROR_KIND_INVALID_ARGS}
}

// UnsupportedFormat marks err as an input the task cannot handle (kind
// unsupported_format, never retried), e.g. a file type it does not read.
// UnsupportedFormat(nil) is nil.
func UnsupportedFormat(err error) error {
	if err == nil {
		return nil
	}
	return &kindError{err: err, kind: pluginpb.ErrorKind_ERROR_KIND_UNSUPPORTED_FORMAT}
}

// panicError is a recovered task panic. Only sdktest recovers panics; see
// Serve.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v\n\n%s", e.value, e.stack) }

// maxErrorMessage bounds the message of an error sent to the host, so that
// an enormous error string cannot break the attempt channel.
const maxErrorMessage = 64 << 10

// toTaskError converts a task's error to the wire. The outermost marked
// error decides the kind; an unmarked error is a retryable task_error.
func toTaskError(err error) *pluginpb.TaskError {
	msg := err.Error()
	if msg == "" {
		msg = fmt.Sprintf("task failed with an empty %T error", err)
	}
	te := &pluginpb.TaskError{
		Kind:      pluginpb.ErrorKind_ERROR_KIND_TASK_ERROR,
		Message:   truncate(msg, maxErrorMessage),
		Retryable: true,
	}
	var ke *kindError
	var pe *panicError
	switch {
	case errors.As(err, &ke):
		te.Kind = ke.kind
		te.Retryable = ke.retryable
		if ke.retryAfter > 0 {
			// Round up so that a sub-millisecond wait is not lost.
			te.RetryAfterMs = int64((ke.retryAfter + time.Millisecond - 1) / time.Millisecond)
		}
	case errors.As(err, &pe):
		te.Kind = pluginpb.ErrorKind_ERROR_KIND_PLUGIN_CRASHED
	}
	return te
}
