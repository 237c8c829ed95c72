package store

import (
	"errors"

	"github.com/batchhost/batchhost/host/internal/backend"
)

// Sentinel errors. Callers branch on them with errors.Is; the errors actually
// returned carry a message naming the file, id or numbers involved.
var (
	// ErrNotFound: no job or group with that id is stored (never was, or was
	// pruned).
	ErrNotFound = backend.ErrNotFound

	// ErrLocked: another process (or another Store in this one) holds the
	// data file. The message names the data directory.
	ErrLocked = errors.New("data dir is in use by another batchhost host")

	// ErrNotBatchhost: the file is a bbolt database but not one batchhost
	// made; it is left untouched.
	ErrNotBatchhost = errors.New("not a batchhost data file")

	// ErrCorrupt: the file is not a bbolt database, or a page of it is
	// damaged. The message names the file; Open never writes to such a file.
	ErrCorrupt = errors.New("data file is corrupt")

	// ErrDamaged: a job, group or schedule record fails its checksum or
	// does not decode. The message names the record and the file; reads
	// of other records go on, and the record is never overwritten.
	ErrDamaged = backend.ErrDamaged

	// ErrSchemaTooNew: the file was written by a newer batchhost whose schema
	// this one does not know. The message gives both versions.
	ErrSchemaTooNew = errors.New("data file schema is newer than this batchhost")

	// ErrFailed: an earlier commit failed, so the store refuses every write
	// after it. The error wraps the original cause. The engine treats it as
	// fatal: continuing could acknowledge work that is not on disk. A
	// Queue commit that found the disk full before its meta page was
	// written is not such a failure: it is backend.ErrNoSpace.
	ErrFailed = backend.ErrFailed

	// ErrClosed: the store was closed.
	ErrClosed = backend.ErrClosed

	// ErrInvalid: a write or a query was refused before touching the file
	// (an empty id, an oversized key, a bad limit).
	ErrInvalid = backend.ErrInvalid
)

// detailError is an error with its own message that matches one sentinel
// (and, optionally, a cause) under errors.Is, so that messages can read
// naturally instead of ending in ": <sentinel text>".
type detailError struct {
	msg   string
	kind  error
	cause error
}

func (e *detailError) Error() string { return e.msg }

func (e *detailError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

func newError(kind, cause error, msg string) error {
	return &detailError{msg: msg, kind: kind, cause: cause}
}

// notFound names the missing job or group, or says no id was given.
func notFound(kind, id string) error {
	if id == "" {
		return newError(ErrNotFound, nil, "no "+kind+" id given")
	}
	return newError(ErrNotFound, nil, kind+" "+id+" not found")
}
