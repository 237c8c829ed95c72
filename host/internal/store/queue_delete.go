package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// Delete deletes finished jobs, all or none; see backend.Writer. It checks
// every id before it deletes one, so a refusal writes nothing. A job
// whose record is damaged is deleted whatever state it was in, with
// every index entry naming it (dropDamaged): it can be neither run nor
// changed, and deleting it is how an operator clears it.
func (q *Queue) Delete(ctx context.Context, ids []string) ([]string, error) {
	if err := backend.CheckDelete(ids); err != nil {
		return nil, invalid("%v", err)
	}
	var out []string
	var gone []damagedDrop
	err := q.do(ctx, func(w *wtx) error {
		out, gone = nil, nil
		heads := make([]*jobHead, len(ids))
		for i, id := range ids {
			if w.damagedRecord(id) {
				continue // heads[i] stays nil
			}
			h, err := w.head(id)
			if err != nil {
				return fmt.Errorf("delete: %w", err)
			}
			if !h.State.Terminal() {
				return newError(backend.ErrState, nil, fmt.Sprintf("delete: job %s is %s, not finished", id, h.State))
			}
			heads[i] = h
		}
		groups := map[string]bool{}
		for i, id := range ids {
			var g string
			var err error
			if heads[i] == nil {
				var d damagedDrop
				g, d, err = w.dropDamaged(id)
				gone = append(gone, d)
			} else {
				g, err = w.drop(id, heads[i])
			}
			if err != nil {
				return err
			}
			if g != "" {
				groups[g] = true
			}
		}
		if err := w.dropGroups(groups); err != nil {
			return err
		}
		out = slices.Clone(ids)
		return nil
	})
	if err == nil {
		q.damaged.deleted(gone)
	}
	return out, err
}

// Purge deletes up to f.Limit finished jobs f selects, oldest first; see
// backend.Writer. It walks the finished index from its oldest entry and
// decodes the head of each job until it has found f.Limit: a filter on a
// task or state that few old jobs match reads many heads.
func (q *Queue) Purge(ctx context.Context, f backend.PurgeFilter) ([]string, error) {
	if err := f.Check(); err != nil {
		return nil, invalid("%v", err)
	}
	var out []string
	err := q.do(ctx, func(w *wtx) error {
		out = nil
		var heads []*jobHead
		var end []byte
		if !f.FinishedBefore.IsZero() {
			end = finishedKeyBound(f.FinishedBefore)
		}
		c := w.bk.finished.Cursor()
		for k, _ := c.First(); k != nil && len(out) < f.Limit; k, _ = c.Next() {
			if end != nil && bytes.Compare(k, end) >= 0 {
				break
			}
			at, id := splitFinishedKey(k)
			h, err := w.head(id)
			if errors.Is(err, backend.ErrNotFound) {
				continue // a stale entry: Prune drops it
			}
			if w.q.s.skipDamaged("job", []byte(id), err) {
				continue // its state and task are lost: Delete by id removes it
			}
			if err != nil {
				return err
			}
			// Finished again, or revived, by an earlier operation of this
			// transaction: its entry is stale.
			if !h.FinishedAt.Equal(at) {
				continue
			}
			if f.Selects(&model.Job{State: h.State, Task: h.Task, FinishedAt: h.FinishedAt}) {
				out = append(out, id)
				heads = append(heads, h)
			}
		}
		groups := map[string]bool{}
		for i, id := range out {
			g, err := w.drop(id, heads[i])
			if err != nil {
				return err
			}
			if g != "" {
				groups[g] = true
			}
		}
		return w.dropGroups(groups)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// head is the head of job id as this transaction sees it, or ErrNotFound.
// A live job's head holds only its state.
func (w *wtx) head(id string) (*jobHead, error) {
	if e := w.jobs[id]; e != nil {
		if e.deleted {
			return nil, notFoundIn(id)
		}
		j := e.j
		return &jobHead{State: j.State, Task: j.Task, Priority: j.Priority, FinishedAt: j.FinishedAt,
			Key: j.Key, Group: j.Group, DependsOn: j.DependsOn}, nil
	}
	if v := w.bk.live.Get([]byte(id)); v != nil {
		return &jobHead{State: liveState(v)}, nil
	}
	data := w.bk.jobs.Get([]byte(id))
	if data == nil {
		return nil, notFoundIn(id)
	}
	return w.q.s.decodeHead([]byte(id), data)
}

// drop deletes finished job id, whose head h is as this transaction sees
// it: its record, its place in the finished index (or the live one, when
// it finished in this transaction) and in the counts, and what points at
// it (dropRefs). The transaction's entry of it, if any, is marked deleted
// so that it is not flushed; later operations do not find it. It reports
// the group the job was a member of (see dropGroups).
func (w *wtx) drop(id string, h *jobHead) (string, error) {
	w.writes++
	e := w.jobs[id]
	if e == nil {
		e = &jobEntry{j: &model.Job{ID: id, State: h.State}, stored: true, from: h.State, fromDone: h.FinishedAt}
		w.jobs[id] = e
	}
	e.deleted = true
	w.dropped = append(w.dropped, id)
	if e.stored {
		key := []byte(id)
		if err := w.bk.jobs.Delete(key); err != nil {
			return "", fmt.Errorf("delete job %s: %w", id, err)
		}
		var err error
		if e.from.Terminal() {
			err = w.bk.finished.Delete(finishedKey(e.fromDone, id))
		} else {
			err = w.bk.live.Delete(key)
		}
		if err != nil {
			return "", fmt.Errorf("unindex job %s: %w", id, err)
		}
	}
	w.counts.add(h.State, h.Priority, -1)
	w.cdirty = true
	return dropRefs(w.bk, id, h)
}

// dropGroups deletes those of groups that are done, have no member left
// and that no schedule's template names.
func (w *wtx) dropGroups(groups map[string]bool) error {
	if err := w.q.s.scheduledGroups(w.bk, groups); err != nil {
		return err
	}
	for g := range groups {
		if hasMembers(w.bk, g) {
			continue
		}
		ge, err := w.group(g)
		if errors.Is(err, backend.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !ge.g.Done() {
			continue
		}
		w.writes++
		if err := deleteGroup(w.bk, g); err != nil {
			return err
		}
		ge.deleted = true
	}
	return nil
}
