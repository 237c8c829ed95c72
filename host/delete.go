package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
)

// MaxDeleteIDs is how many jobs one Delete call may name.
const MaxDeleteIDs = backend.MaxLimit

// purgeBatch bounds one purge transaction, as pruneBatch bounds a prune's.
const purgeBatch = 1000

// Delete deletes finished jobs (completed, failed or canceled) and their
// logs, all or none: an id that names no job is an error wrapping
// ErrNotFound, a job that is not finished one wrapping ErrState that
// names it and its state, an empty or repeated id, or more than
// MaxDeleteIDs, one wrapping ErrInvalid; on any error nothing is deleted.
// Cancel an unfinished job and wait for it to end before deleting it.
//
// A deleted job is gone as a pruned one is: its group keeps its counts
// and outcome, and a job that depends on it and is placed later (a
// created job submitted, a job resumed or retried) counts it as
// completed. A new job cannot name it as a dependency (ErrNotFound).
//
// A job whose record is damaged (ErrDamaged: see Check) is deleted
// whatever state it was in, with every index entry that names it: it can
// be neither run nor changed, and this is how to clear it without
// restoring a backup. What its record held (task, args, state, result,
// attempts) is lost with it; jobs waiting for it keep waiting (cancel
// them). On a PostgreSQL queue no record is damaged.
func (h *Host) Delete(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return invalidf("delete: no job ids given")
	}
	if err := h.check(ctx); err != nil {
		return err
	}
	deleted, err := h.store.Delete(ctx, ids)
	if err != nil {
		err = fromBackend(err)
		if len(ids) > 1 && (errors.Is(err, ErrNotFound) || errors.Is(err, ErrState)) {
			// All or none: say that the others stay too.
			err = fmt.Errorf("%w (none of the %d jobs was deleted)", err, len(ids))
		}
		return err
	}
	h.removeLogs(deleted)
	return nil
}

// PurgeFilter selects the finished jobs Purge deletes.
type PurgeFilter struct {
	// States are the finished states to purge: completed, failed,
	// canceled. At least one is required, so that a purge names what it
	// deletes.
	States []State
	// Task selects one task's jobs ("": every task).
	Task string
	// OlderThan selects jobs that finished longer ago than this (0: any
	// finished job, however recent).
	OlderThan time.Duration
}

// check refuses a filter Purge cannot act on, naming the problem.
func (f PurgeFilter) check() error {
	if len(f.States) == 0 {
		return invalidf("purge: no state given (want one or more of completed, failed, canceled)")
	}
	for _, st := range f.States {
		if !slices.Contains([]State{StateCompleted, StateFailed, StateCanceled}, st) {
			return invalidf("purge: state %q is not a finished state (want completed, failed or canceled)", st)
		}
	}
	if f.OlderThan < 0 {
		return invalidf("purge: older-than %s is negative", f.OlderThan)
	}
	return nil
}

// Purge deletes every finished job f selects, with its logs, as Delete
// does, and returns how many it deleted. It works in transactions of up
// to 1000 jobs, oldest first, until none is left or ctx ends (then it
// returns the count so far and ctx's error): a large purge never holds
// the store for long, and what each transaction deleted stays deleted.
// Jobs that finish while it runs may be purged too when they match. A
// damaged record is passed over (its state and task cannot be read):
// Delete removes it by id.
func (h *Host) Purge(ctx context.Context, f PurgeFilter) (int, error) {
	if err := f.check(); err != nil {
		return 0, err
	}
	if err := h.check(ctx); err != nil {
		return 0, err
	}
	pf := backend.PurgeFilter{States: slices.Clone(f.States), Task: f.Task, Limit: purgeBatch}
	if f.OlderThan > 0 {
		pf.FinishedBefore = h.cfg.Clock.Now().Add(-f.OlderThan)
	}
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		ids, err := h.store.Purge(ctx, pf)
		if err != nil {
			return n, fromBackend(err)
		}
		n += len(ids)
		h.removeLogs(ids)
		if len(ids) < purgeBatch {
			return n, nil
		}
	}
}

// removeLogs removes the logs of deleted jobs. The jobs are gone whatever
// happens to their logs, so a failure is logged, not returned.
func (h *Host) removeLogs(ids []string) {
	if err := h.logs.Remove(ids...); err != nil {
		h.cfg.Logger.Warn("removing logs of deleted jobs failed", "error", err)
	}
}
