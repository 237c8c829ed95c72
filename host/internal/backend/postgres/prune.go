package postgres

import (
	"context"
	"time"
)

// Prune deletes up to limit finished jobs that finished before the
// given time, oldest first, with their edges (their key and membership
// go with their row); what they counted in their groups moves to the
// group's row, and a group left empty and done, that no schedule's
// template names, is deleted. It answers the ids deleted.
func (s *Store) Prune(ctx context.Context, before time.Time, limit int) ([]string, error) {
	if limit < 1 {
		return nil, invalid("prune: limit %d (want at least 1)", limit)
	}
	var out []string
	err := s.write(ctx, func(w *wtx) error {
		out = nil
		rows, err := w.tx.Query(w.ctx, `WITH due AS MATERIALIZED (
				SELECT id FROM jobs WHERE state IN `+terminalStates+` AND finished_at < $1
				ORDER BY finished_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
			DELETE FROM jobs j USING due WHERE j.id = due.id
			RETURNING j.id, coalesce(j.group_id, ''), j.state, j.finished_at`, before, limit)
		if err != nil {
			return err
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
				return err
			}
			gs = append(gs, g)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
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
				return err
			}
		}
		for g := range groups {
			gs, err := groupsByID(w.ctx, w.tx, []string{g})
			if err != nil {
				return err
			}
			if len(gs) == 0 || !gs[0].Done() {
				continue
			}
			if _, err := w.tx.Exec(w.ctx, `DELETE FROM groups g WHERE g.id = $1
				AND NOT EXISTS (SELECT 1 FROM jobs WHERE group_id = $1)
				AND NOT EXISTS (SELECT 1 FROM schedules WHERE doc->'template'->>'group' = $1)`, g); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
