package host

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/engine"
)

// Errors callers branch on. Wrapped errors carry the job or group id.
var (
	// ErrNotFound: no job or group with that id (it may have been pruned).
	ErrNotFound = errors.New("not found")
	// ErrQueueFull: accepting the job would exceed MaxQueueSize. Nothing
	// was written.
	ErrQueueFull = errors.New("queue full")
	// ErrUnknownTask: no loaded plugin offers the task.
	ErrUnknownTask = errors.New("unknown task")
	// ErrInvalid: the spec or argument is malformed; the message says how.
	ErrInvalid = errors.New("invalid")
	// ErrCycle: the dependency would close a cycle. The error is a
	// *CycleError naming it.
	ErrCycle = errors.New("dependency cycle")
	// ErrState: the job or group is not in a state that allows the
	// operation (retry of a completed job, pause of a finished one...).
	ErrState = errors.New("wrong state")
	// ErrNotCompleted: Result was asked of a job that did not complete.
	ErrNotCompleted = errors.New("job did not complete")
	// ErrClosed: the host is closed or stopping.
	ErrClosed = errors.New("host closed")
	// ErrFailed: the host's store failed (an I/O error that leaves the
	// data file's state unknown); the host refuses further changes.
	// Reopen it after fixing the cause.
	ErrFailed = errors.New("host failed")
	// ErrNoSpace: the disk of the embedded data file is full (or the
	// quota spent): the change was not made. Reads answer, and the host
	// goes on by itself once space is freed: attempts that ended
	// meanwhile are recorded then, and a retried call succeeds.
	ErrNoSpace = errors.New("no space left on device")
	// ErrUnavailable: the queue's database (Config.Database) did not
	// answer: down, restarting or out of reach. The call was not
	// acknowledged; retry it (with the same idempotency key, a submit
	// that did reach the database is not made twice). The host keeps
	// going and reconnects by itself.
	ErrUnavailable = errors.New("queue unavailable")
	// ErrTooManyWatchers: MaxWatchers event subscriptions are open.
	ErrTooManyWatchers = errors.New("too many watchers")
	// ErrDatabase: the queue's database (Config.Database) could not be
	// opened: unreachable, a bad URL, or a schema that is not this
	// build's (the message names the fix).
	ErrDatabase = errors.New("database unusable")
	// ErrDamaged: the job's (group's, schedule's) record in the embedded
	// data file fails its checksum or does not decode; the message names
	// it. The record is left as it is: not run, not changed, and left out
	// of lists. `batchhost check` names every damaged record.
	ErrDamaged = errors.New("record damaged")
	// ErrAmbiguous: an id prefix begins the ids of several jobs or groups;
	// the message names them. Give more characters.
	ErrAmbiguous = errors.New("ambiguous id prefix")
)

// CycleError names the dependency cycle a change would close.
type CycleError struct {
	Path []string // job → dependency → ... → job
}

func (e *CycleError) Error() string {
	return fmt.Sprintf("dependency cycle: %s", strings.Join(e.Path, " -> "))
}

// Is makes errors.Is(err, ErrCycle) true.
func (e *CycleError) Is(target error) bool { return target == ErrCycle }

// kindError is a message that matches a sentinel with errors.Is without
// repeating the sentinel's text in the message.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

func invalidf(format string, args ...any) error {
	return &kindError{ErrInvalid, fmt.Sprintf(format, args...)}
}

// invalid gives err, a problem with the caller's input, the ErrInvalid
// sentinel, keeping its message.
func invalid(err error) error {
	return &kindError{ErrInvalid, err.Error()}
}

func stateErr(format string, args ...any) error {
	return &kindError{ErrState, fmt.Sprintf(format, args...)}
}

func notFound(kind, id string) error {
	if id == "" {
		return &kindError{ErrNotFound, fmt.Sprintf("no %s id given", kind)}
	}
	return &kindError{ErrNotFound, fmt.Sprintf("%s %s not found", kind, id)}
}

// fromBackend gives an error of the store port or the engine the host's
// sentinel, keeping its message, so that callers branch on host errors
// only.
func fromBackend(err error) error {
	var cyc *backend.CycleError
	var ke *kindError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ke), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, backend.ErrClosed), errors.Is(err, engine.ErrClosed):
		return ErrClosed
	case errors.As(err, &cyc):
		return &CycleError{Path: cyc.Path}
	case errors.Is(err, backend.ErrFailed):
		return &kindError{ErrFailed, "host failed: the store could not commit (" + err.Error() + "); reopen the host"}
	case errors.Is(err, backend.ErrNoSpace):
		return &kindError{ErrNoSpace, err.Error()}
	case errors.Is(err, backend.ErrUnavailable):
		return &kindError{ErrUnavailable, "queue unavailable: its database did not answer (" + err.Error() + "); retry"}
	case errors.Is(err, engine.ErrUnknownTask):
		return &kindError{ErrUnknownTask, err.Error()}
	case errors.Is(err, backend.ErrNotFound):
		return &kindError{ErrNotFound, err.Error()}
	case errors.Is(err, backend.ErrDamaged):
		return &kindError{ErrDamaged, err.Error()}
	case errors.Is(err, backend.ErrState):
		return &kindError{ErrState, err.Error()}
	case errors.Is(err, backend.ErrFull):
		return &kindError{ErrQueueFull, err.Error()}
	case errors.Is(err, backend.ErrInvalid), errors.Is(err, backend.ErrConflict):
		return &kindError{ErrInvalid, err.Error()}
	}
	return err
}

// checkCursor refuses a paging cursor that is not an id, which would
// otherwise silently select from the wrong place.
func checkCursor(before string) error {
	if before == "" {
		return nil
	}
	// Ids are lower case, and the store compares bytes.
	if _, err := uuid.Parse(before); err != nil || len(before) != 36 || before != strings.ToLower(before) {
		return invalidf("page cursor %.40q is not an id (pass the cursor the previous page returned)", before)
	}
	return nil
}
