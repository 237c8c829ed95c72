package store

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
)

// Prune deletes up to limit jobs that finished before the given time, with
// everything that points at them, and groups left empty and done, as
// Delete does. Jobs an earlier operation of the same transaction changed
// are left for a later prune.
func (q *Queue) Prune(ctx context.Context, before time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, invalid("prune: limit must be positive, got %d", limit)
	}
	var pruned []string
	err := q.do(ctx, func(w *wtx) error {
		pruned = nil
		var victims [][]byte
		end := finishedKeyBound(before)
		c := w.bk.finished.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, end) < 0 && len(victims) < limit; k, _ = c.Next() {
			if _, id := splitFinishedKey(k); w.jobs[id] == nil {
				victims = append(victims, bytes.Clone(k))
			}
		}
		groups := map[string]bool{}
		for _, fk := range victims {
			_, id := splitFinishedKey(fk)
			h, err := w.head(id)
			if q.s.skipDamaged("job", []byte(id), err) {
				// Kept, index entry and all, for `batchhost check` to
				// name; the others are pruned.
				continue
			}
			if err != nil && !errors.Is(err, backend.ErrNotFound) {
				return err
			}
			w.writes++
			if err := w.bk.finished.Delete(fk); err != nil {
				return err
			}
			if err != nil || !h.State.Terminal() {
				// A stale entry: the job is gone, or live again.
				q.s.log.Warn("stale finished-index entry dropped", "job", id)
				continue
			}
			g, err := w.drop(id, h)
			if err != nil {
				return err
			}
			pruned = append(pruned, id)
			if g != "" {
				groups[g] = true
			}
		}
		return w.dropGroups(groups)
	})
	return pruned, err
}
