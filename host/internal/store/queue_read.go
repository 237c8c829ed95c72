package store

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// The reads run their own read transactions beside the writer: they see
// the last committed state.

// Job returns a stored job.
func (q *Queue) Job(ctx context.Context, id string) (*model.Job, error) {
	if id == "" {
		return nil, invalid("job: empty id")
	}
	return q.s.Job(id)
}

// JobByKey returns the id stored under an idempotency key.
func (q *Queue) JobByKey(ctx context.Context, key string) (string, error) {
	if key == "" {
		return "", invalid("job by key: empty key")
	}
	id, ok, err := q.s.JobByKey(key)
	if err == nil && !ok {
		err = newError(backend.ErrNotFound, nil, fmt.Sprintf("no job holds key %q", key))
	}
	return id, err
}

// ListJobs returns one page of jobs, newest first.
func (q *Queue) ListJobs(ctx context.Context, f backend.JobFilter) ([]*model.Job, string, error) {
	return q.s.ListJobs(Filter{States: f.States, Task: f.Task, Group: f.Group, Priorities: f.Priorities,
		Label: f.Label, Search: f.Search, Before: f.Before, Limit: f.Limit})
}

// Running returns the running jobs whose owner is not alive.
func (q *Queue) Running(ctx context.Context, alive []string) ([]*model.Job, error) {
	q.running.mu.Lock()
	defer q.running.mu.Unlock()
	var out []*model.Job
	for _, j := range q.running.jobs {
		ok := false
		for _, a := range alive {
			ok = ok || j.Owner == a
		}
		if !ok {
			out = append(out, j.Clone())
		}
	}
	sortJobs(out)
	return out, nil
}

// NextRunAt is the earliest ready time after now among the heads of the
// ready index (a stale head can only make it early: the engine then finds
// nothing and asks again).
func (q *Queue) NextRunAt(ctx context.Context, now time.Time) (time.Time, error) {
	x := &q.idx
	x.mu.Lock()
	defer x.mu.Unlock()
	n := now.UnixNano()
	var next int64
	for _, byTask := range x.queues {
		for _, h := range byTask {
			if h.Len() > 0 {
				if t := (*h)[0].readyAt; t > n && (next == 0 || t < next) {
					next = t
				}
			}
		}
	}
	return nanoTime(next), nil
}

// Group returns a stored group.
func (q *Queue) Group(ctx context.Context, id string) (*model.Group, error) { return q.s.Group(id) }

// ListGroups returns one page of groups, newest first.
func (q *Queue) ListGroups(ctx context.Context, before string, limit int) ([]*model.Group, string, error) {
	return q.s.ListGroups(before, limit)
}

// Members returns a group's member ids in add order.
func (q *Queue) Members(ctx context.Context, group string) ([]string, error) {
	return q.s.Members(group)
}

// Dependents returns the jobs that depend on id.
func (q *Queue) Dependents(ctx context.Context, id string) ([]model.Dep, error) {
	return q.s.Dependents(id)
}

// Counts returns the stored jobs by state and priority.
func (q *Queue) Counts(ctx context.Context) (backend.Counts, error) {
	var c countsP
	err := q.s.view(func(tx *bolt.Tx) error {
		var ok bool
		if c, ok = decodeCountsP(tx.Bucket(bMeta).Get(countsPKey)); !ok {
			return newError(ErrCorrupt, nil, fmt.Sprintf("data file %s: job counts record is missing or damaged", q.s.path))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := backend.Counts{}
	for si, st := range model.States {
		byp := map[model.Priority]int{}
		for pi, p := range model.Priorities {
			if n := c[si][p.Index()]; n != 0 {
				byp[p] = int(n)
			}
			_ = pi
		}
		out[st] = byp
	}
	return out, nil
}
