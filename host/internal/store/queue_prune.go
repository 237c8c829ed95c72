package store

import (
	"bytes"
	"context"
	"time"
)

// Prune deletes up to limit jobs that finished before the given time, with
// everything that points at them, and groups left empty and done.
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
		var unused counts
		for _, fk := range victims {
			_, id := splitFinishedKey(fk)
			w.writes++
			if err := w.bk.finished.Delete(fk); err != nil {
				return err
			}
			data := w.bk.jobs.Get([]byte(id))
			if data == nil {
				continue
			}
			h, err := q.s.decodeHead([]byte(id), data)
			if err != nil {
				return err
			}
			g, ok, err := q.s.pruneJob(w.bk, &unused, id)
			if err != nil {
				return err
			}
			if ok {
				pruned = append(pruned, id)
				w.counts.add(h.State, h.Priority, -1)
				w.cdirty = true
			}
			if g != "" {
				groups[g] = true
			}
		}
		if len(groups) > 0 {
			if err := w.bk.schedules.ForEach(func(k, v []byte) error {
				sc, err := q.s.decodeSchedule(k, v)
				if err == nil {
					delete(groups, sc.Template.Group)
				}
				return err
			}); err != nil {
				return err
			}
		}
		for g := range groups {
			if w.groups[g] != nil {
				continue
			}
			if err := q.s.pruneGroup(w.bk, g); err != nil {
				return err
			}
		}
		return nil
	})
	return pruned, err
}
