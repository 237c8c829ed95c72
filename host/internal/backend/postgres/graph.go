package postgres

import (
	"context"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// graphLock is the advisory lock every write that adds an edge to a
// stored job holds until its commit: two such writes could otherwise
// each pass the cycle check the other's edge breaks. Inserts need not
// take it: a new job has no dependents, so its edges close no cycle.
const graphLock = 0x62686772 // "bhgr"

// AddDependencies makes a created, waiting or queued job also wait for
// deps; see backend.Writer.
func (s *Store) AddDependencies(ctx context.Context, id string, ds []model.Dep, now time.Time) (backend.Changes, error) {
	if id == "" {
		return backend.Changes{}, invalid("add dependencies: no job id")
	}
	if len(ds) == 0 {
		return backend.Changes{}, invalid("add dependencies to %s: none given", id)
	}
	if err := checkJob(0, &model.Job{ID: id, Task: "-", DependsOn: ds}); err != nil {
		return backend.Changes{}, err
	}
	for _, d := range ds {
		if d.ID == id {
			return backend.Changes{}, invalid("job %s cannot depend on itself", id)
		}
	}
	var out backend.Changes
	err := s.write(ctx, func(w *wtx) error {
		if _, err := w.tx.Exec(w.ctx, "SELECT pg_advisory_xact_lock($1)", graphLock); err != nil {
			return err
		}
		j, err := w.lock(id)
		if err != nil {
			return err
		}
		if j == nil {
			return notFound("job %s not found", id)
		}
		switch j.State {
		case model.Created, model.Waiting, model.Queued:
		default:
			return stateErr("job %s is %s: dependencies can be added to created, waiting or queued jobs", id, j.State)
		}
		from := len(j.DependsOn)
		for _, d := range ds {
			if err := w.depsStored(id, []model.Dep{d}); err != nil {
				return err
			}
			if hasDep(j.DependsOn, d.ID) {
				return conflict("job %s already depends on %s", id, d.ID)
			}
			if path, err := w.path(d.ID, id); err != nil {
				return err
			} else if path != nil {
				return &backend.CycleError{Path: append([]string{id}, path...)}
			}
			j.DependsOn = append(j.DependsOn, d)
		}
		if err := w.insertEdges(j, from); err != nil {
			return err
		}
		if err := w.recheck(j, now); err != nil {
			return err
		}
		if err := w.settle(now); err != nil {
			return err
		}
		out, err = w.changes()
		return err
	})
	return out, err
}

// path is a chain of edges from → ... → to along every stored edge
// (finished jobs included: a retry revives them), or nil.
func (w *wtx) path(from, to string) ([]string, error) {
	if from == to {
		return []string{from}, nil
	}
	var path []string
	err := w.tx.QueryRow(w.ctx, `WITH RECURSIVE walk(id, path) AS (
			SELECT $1::text, ARRAY[$1::text]
			UNION
			SELECT e.dep_id, w.path || e.dep_id FROM walk w JOIN deps e ON e.job_id = w.id
			WHERE NOT e.dep_id = ANY(w.path)
		)
		SELECT path FROM walk WHERE id = $2 LIMIT 1`, from, to).Scan(&path)
	if isNoRows(err) {
		return nil, nil
	}
	return path, err
}

// recheck places a waiting or queued job whose dependencies grew.
func (w *wtx) recheck(j *model.Job, now time.Time) error {
	if j.State != model.Waiting && j.State != model.Queued {
		return nil
	}
	cancel, pending, _, err := w.readiness(j)
	switch {
	case err != nil:
		return err
	case cancel != nil:
		j.Error = cancel
		return w.setState(j, model.Canceled, now)
	case pending && j.State == model.Queued:
		return w.setState(j, model.Waiting, now)
	}
	return nil
}

// AddToGroup adds created jobs that are in no group to a group, in the
// order given, all or none; see backend.Writer.
func (s *Store) AddToGroup(ctx context.Context, group string, ids []string, now time.Time) (backend.Changes, error) {
	if group == "" {
		return backend.Changes{}, invalid("add to group: no group id")
	}
	if len(ids) == 0 {
		return backend.Changes{}, invalid("add to group %s: no jobs given", group)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" {
			return backend.Changes{}, invalid("add to group %s: a job without an id", group)
		}
		if seen[id] {
			return backend.Changes{}, invalid("add to group %s: job %s listed twice", group, id)
		}
		seen[id] = true
	}
	var out backend.Changes
	err := s.write(ctx, func(w *wtx) error {
		if _, err := w.tx.Exec(w.ctx, "SELECT pg_advisory_xact_lock($1)", graphLock); err != nil {
			return err
		}
		h, err := w.lockGroup(group)
		if err != nil {
			return err
		}
		if h == nil {
			return notFound("group %s not found", group)
		}
		for _, id := range ids {
			j, err := w.lock(id)
			if err != nil {
				return err
			}
			if j == nil {
				return notFound("job %s not found", id)
			}
			if j.State != model.Created {
				return stateErr("job %s is %s: only created jobs can join a group", id, j.State)
			}
			if j.Group != "" {
				return stateErr("job %s is already in group %s; a job belongs to at most one group", id, j.Group)
			}
			if h.sequential && h.last != "" {
				path, err := w.path(h.last, id)
				if err != nil {
					return err
				}
				if path != nil {
					return &backend.CycleError{Path: append([]string{id}, path...)}
				}
			}
			from := len(j.DependsOn)
			pos, err := w.join(h, j)
			if err != nil {
				return err
			}
			if _, err := w.tx.Exec(w.ctx, "UPDATE jobs SET group_id = $2, group_pos = $3 WHERE id = $1", j.ID, h.id, pos); err != nil {
				return err
			}
			if err := w.insertEdges(j, from); err != nil {
				return err
			}
		}
		if err := w.settle(now); err != nil {
			return err
		}
		out, err = w.changes()
		return err
	})
	return out, err
}
