package postgres

import (
	"context"
	"time"
)

// Prune deletes up to limit finished jobs that finished before the
// given time, oldest first, as drop does; jobs another transaction holds
// are left for a later prune. It answers the ids deleted.
func (s *Store) Prune(ctx context.Context, before time.Time, limit int) ([]string, error) {
	if limit < 1 {
		return nil, invalid("prune: limit %d (want at least 1)", limit)
	}
	var out []string
	err := s.write(ctx, func(w *wtx) error {
		var err error
		out, err = w.drop(`SELECT id FROM jobs WHERE state IN `+terminalStates+` AND finished_at < $1
			ORDER BY finished_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`, before, limit)
		return err
	})
	return out, err
}

// drop deletes the finished jobs that the query due selects (a column
// id, the rows locked) and answers their ids, oldest first (by
// finished_at, then id). Their edges to their dependencies, key and
// membership go with their rows; the edges to them stay (a dependency
// that is not stored counts as completed; Dependents of it is empty).
// What they counted in their groups moves to the group's row
// (pruned_counts, pruned_finished_at), so that a group keeps its counts;
// a group left empty and done, that no schedule's template names, is
// deleted. Prune, Delete and Purge delete through it.
func (w *wtx) drop(due string, args ...any) ([]string, error) {
	rows, err := w.tx.Query(w.ctx, `WITH due AS MATERIALIZED (`+due+`),
		gone AS (DELETE FROM jobs j USING due WHERE j.id = due.id
			RETURNING j.id, coalesce(j.group_id, '') AS group_id, j.state, j.finished_at)
		SELECT id, group_id, state, finished_at FROM gone ORDER BY finished_at, id`, args...)
	if err != nil {
		return nil, err
	}
	type gone struct {
		id, group, state string
		at               time.Time
	}
	var gs []gone
	for rows.Next() {
		var g gone
		if err := rows.Scan(&g.id, &g.group, &g.state, &g.at); err != nil {
			rows.Close()
			return nil, err
		}
		gs = append(gs, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []string
	groups := map[string]bool{}
	for _, g := range gs {
		out = append(out, g.id)
		if g.group == "" {
			continue
		}
		groups[g.group] = true
		if _, err := w.tx.Exec(w.ctx, `UPDATE groups SET
			pruned_counts = jsonb_set(pruned_counts, ARRAY[$2::text], to_jsonb(coalesce((pruned_counts->>$2)::int, 0) + 1)),
			pruned_finished_at = greatest(pruned_finished_at, $3) WHERE id = $1`, g.group, g.state, g.at); err != nil {
			return nil, err
		}
	}
	for g := range groups {
		gs, err := groupsByID(w.ctx, w.tx, []string{g})
		if err != nil {
			return nil, err
		}
		if len(gs) == 0 || !gs[0].Done() {
			continue
		}
		if _, err := w.tx.Exec(w.ctx, `DELETE FROM groups g WHERE g.id = $1
			AND NOT EXISTS (SELECT 1 FROM jobs WHERE group_id = $1)
			AND NOT EXISTS (SELECT 1 FROM schedules WHERE doc->'template'->>'group' = $1)`, g); err != nil {
			return nil, err
		}
	}
	return out, nil
}
