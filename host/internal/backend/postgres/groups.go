package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

// groupCols is the select list of a group under the alias g. Its counts
// are counted from the members' rows (jobs_group_state) and added to
// what pruned members counted, instead of being kept in the group's row:
// every completion would otherwise update that one row, and the
// completions of a group's members would queue behind each other.
const groupCols = `g.id, g.name, g.sequential, g.cancel_on_failure, g.created_at, g.size, g.last, g.pruned_counts,
	g.pruned_finished_at, g.finished_at,
	(SELECT jsonb_object_agg(s.state, s.n) FROM (SELECT state, count(*) AS n FROM jobs WHERE group_id = g.id GROUP BY state) s),
	(SELECT max(finished_at) FROM jobs WHERE group_id = g.id)`

func scanGroup(row interface{ Scan(...any) error }) (*model.Group, error) {
	var (
		g                        model.Group
		pruned, live             []byte
		prunedAt, lastFinishedAt *time.Time
		finishedAt               *time.Time
	)
	if err := row.Scan(&g.ID, &g.Name, &g.Sequential, &g.CancelOnFailure, &g.CreatedAt, &g.Size, &g.Last, &pruned,
		&prunedAt, &finishedAt, &live, &lastFinishedAt); err != nil {
		return nil, err
	}
	g.CreatedAt = g.CreatedAt.UTC()
	g.Counts = map[model.State]int{}
	for _, b := range [][]byte{pruned, live} {
		if len(b) == 0 {
			continue
		}
		var m map[model.State]int
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		for st, n := range m {
			if n != 0 {
				g.Counts[st] += n
			}
		}
	}
	// A done group finished when it became done (see closeGroups); if
	// two transactions finished its last members at once, neither saw it
	// done: then it finished when its last member did.
	if g.Done() {
		g.FinishedAt = derefTime(finishedAt)
		if finishedAt != nil {
			return &g, nil
		}
		g.FinishedAt = derefTime(lastFinishedAt)
		if p := derefTime(prunedAt); p.After(g.FinishedAt) {
			g.FinishedAt = p
		}
	}
	return &g, nil
}

// groupsByID reads groups in the order given (missing ones left out).
func groupsByID(ctx context.Context, q querier, ids []string) ([]*model.Group, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, "SELECT "+groupCols+" FROM groups g WHERE g.id = ANY($1)", forValues(len(ids), ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := map[string]*model.Group{}
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, err
		}
		byID[g.ID] = g
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*model.Group, 0, len(ids))
	for _, id := range ids {
		if g := byID[id]; g != nil {
			out = append(out, g)
		}
	}
	return out, nil
}

// groupHead is what adding a member needs of its group, read with the
// group's row locked: members join one at a time.
type groupHead struct {
	id         string
	sequential bool
	size       int
	last       string
}

// lockGroup locks group id for adding members; nil when not stored.
func (w *wtx) lockGroup(id string) (*groupHead, error) {
	h := &groupHead{id: id}
	err := w.tx.QueryRow(w.ctx, "SELECT sequential, size, last FROM groups WHERE id = $1 FOR UPDATE", id).
		Scan(&h.sequential, &h.size, &h.last)
	if err != nil {
		if isNoRows(err) {
			return nil, nil
		}
		return nil, err
	}
	return h, nil
}

// join makes j (not yet stored, or created) the group's newest member:
// in a sequential group it waits for the member added before it. It
// answers j's position; the caller stores j and its new edge.
func (w *wtx) join(h *groupHead, j *model.Job) (int, error) {
	if h.sequential && h.last != "" && !hasDep(j.DependsOn, h.last) {
		j.DependsOn = append(j.DependsOn, model.Dep{ID: h.last, Policy: model.DepCancel})
	}
	j.Group = h.id
	pos := h.size
	h.size++
	h.last = j.ID
	_, err := w.tx.Exec(w.ctx, "UPDATE groups SET size = $2, last = $3 WHERE id = $1", h.id, h.size, h.last)
	w.c.group(h.id)
	return pos, err
}

func hasDep(ds []model.Dep, id string) bool {
	for _, d := range ds {
		if d.ID == id {
			return true
		}
	}
	return false
}

// closeGroups records, for the groups a write touched, the time each
// became done (its last member's end) or that it was reopened. Only
// those changes write the group's row.
func (w *wtx) closeGroups() error {
	if len(w.c.groups) == 0 {
		return nil
	}
	_, err := w.tx.Exec(w.ctx, `UPDATE groups g SET finished_at = CASE WHEN d.done THEN d.last END
		FROM (SELECT g2.id,
				g2.size > 0 AND g2.size = (SELECT count(*) FROM jobs WHERE group_id = g2.id AND state IN `+terminalStates+`)
					+ (SELECT coalesce(sum(value::int), 0) FROM jsonb_each_text(g2.pruned_counts)) AS done,
				greatest((SELECT max(finished_at) FROM jobs WHERE group_id = g2.id), g2.pruned_finished_at) AS last
			FROM groups g2 WHERE g2.id = ANY($1)) d
		WHERE g.id = d.id AND d.done <> (g.finished_at IS NOT NULL)`, forValues(len(w.c.groups), w.c.groups)...)
	return err
}
