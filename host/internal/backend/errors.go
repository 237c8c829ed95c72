package backend

import (
	"errors"
	"strings"
)

// Sentinel errors of the port. Backends return errors that match one of
// them under errors.Is and carry a message naming the id or value involved.
var (
	// ErrNotFound: no such job, group or schedule (never stored, or pruned).
	ErrNotFound = errors.New("not found")
	// ErrState: the job's state does not allow the request (retry of a
	// running job, pause of a finished one). The message names both.
	ErrState = errors.New("not allowed in this state")
	// ErrConflict: the write would break a rule of the stored queue (a
	// dependency cycle, a group id already taken).
	ErrConflict = errors.New("conflict")
	// ErrFull: the queue limit the caller passed would be exceeded.
	ErrFull = errors.New("queue is full")
	// ErrInvalid: refused before touching the store (an empty id, a bad
	// limit or cursor).
	ErrInvalid = errors.New("invalid store input")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store closed")
	// ErrDamaged: a stored record fails its checksum or does not decode
	// (the embedded file's records are checksummed). The message names it.
	ErrDamaged = errors.New("record damaged")
	// ErrFailed: the store cannot commit (a failed fsync, a full disk);
	// the write was not acknowledged. Reads may still answer.
	ErrFailed = errors.New("store failed")
	// ErrUnavailable: a shared store's database did not answer (down,
	// restarting, unreachable); whether the write was made is unknown
	// until the store answers again. Unlike ErrFailed it passes: retry.
	ErrUnavailable = errors.New("store unavailable")
	// ErrNoSpace: the embedded store's disk is full (or its quota
	// spent): the write was not made, nothing of it is in the file, and
	// reads answer. It passes once space is freed: an error that matches
	// it matches ErrUnavailable too, so that what retries an outage
	// retries this.
	ErrNoSpace error = noSpaceError{}
)

type noSpaceError struct{}

func (noSpaceError) Error() string        { return "no space left" }
func (noSpaceError) Is(target error) bool { return target == ErrUnavailable }

// Down reports whether err says the store could not take a write at all
// (failed or unavailable), rather than refusing this one.
func Down(err error) bool {
	return errors.Is(err, ErrFailed) || errors.Is(err, ErrUnavailable)
}

// CycleError is the ErrConflict of a dependency that would close a cycle.
type CycleError struct {
	// Path is the cycle as job → dependency → ... → job.
	Path []string
}

func (e *CycleError) Error() string {
	return "dependency cycle: " + strings.Join(e.Path, " -> ")
}

// Is makes a CycleError match ErrConflict.
func (e *CycleError) Is(target error) bool { return target == ErrConflict }
