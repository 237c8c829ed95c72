package postgres

import (
	"context"
	"slices"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// Delete deletes finished jobs, all or none; see backend.Writer. It
// locks the jobs' rows and checks each, in the order given, before it
// deletes any (through drop).
func (s *Store) Delete(ctx context.Context, ids []string) ([]string, error) {
	if err := backend.CheckDelete(ids); err != nil {
		return nil, invalid("%v", err)
	}
	var out []string
	err := s.write(ctx, func(w *wtx) error {
		out = nil
		rows, err := w.tx.Query(w.ctx, `SELECT id, state FROM jobs WHERE id = ANY($1) ORDER BY id FOR UPDATE`, forValues(len(ids), ids)...)
		if err != nil {
			return err
		}
		states := make(map[string]model.State, len(ids))
		for rows.Next() {
			var id, st string
			if err := rows.Scan(&id, &st); err != nil {
				rows.Close()
				return err
			}
			states[id] = model.State(st)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			switch st, ok := states[id]; {
			case !ok:
				return notFound("delete: job %s not found", id)
			case !st.Terminal():
				return stateErr("delete: job %s is %s, not finished", id, st)
			}
		}
		gone, err := w.drop(`SELECT id FROM jobs WHERE id = ANY($1)`, forValues(len(ids), ids)...)
		if err != nil {
			return err
		}
		if len(gone) != len(ids) {
			// The rows are locked: nothing can have taken one meanwhile.
			return storeErr(backend.ErrConflict, "delete: %d of %d jobs deleted", len(gone), len(ids))
		}
		out = slices.Clone(ids)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Purge deletes up to f.Limit finished jobs f selects, oldest first;
// see backend.Writer. Jobs another transaction holds are skipped rather
// than waited for (as Prune does): they are being changed, or deleted.
func (s *Store) Purge(ctx context.Context, f backend.PurgeFilter) ([]string, error) {
	if err := f.Check(); err != nil {
		return nil, invalid("%v", err)
	}
	states := []string{string(model.Completed), string(model.Failed), string(model.Canceled)}
	if len(f.States) > 0 {
		states = states[:0]
		for _, st := range f.States {
			states = append(states, string(st))
		}
	}
	var before any
	if !f.FinishedBefore.IsZero() {
		before = f.FinishedBefore
	}
	var out []string
	err := s.write(ctx, func(w *wtx) error {
		var err error
		out, err = w.drop(`SELECT id FROM jobs WHERE state = ANY($1) AND ($2 = '' OR task = $2)
			AND ($3::timestamptz IS NULL OR finished_at < $3) AND finished_at IS NOT NULL
			ORDER BY finished_at, id LIMIT $4 FOR UPDATE SKIP LOCKED`, states, f.Task, before, f.Limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
