package store

import (
	"container/heap"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

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
	if j := q.committed.get(id); j != nil {
		return j, nil
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
	if err := checkCursor(f.Before); err != nil {
		return nil, "", err
	}
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

// NextRunAt is the earliest ready time after now of a queued job, from
// the head of the index's delayed entries (those due by now, or whose job
// is no longer queued at that sequence, are dropped on the way).
func (q *Queue) NextRunAt(ctx context.Context, now time.Time) (time.Time, error) {
	n := now.UnixNano()
	var next int64
	// Read before the snapshot: an entry from a commit durable by then is
	// in it.
	durable := q.durableSeq.Load()
	err := q.s.view(func(tx *bolt.Tx) error {
		live := tx.Bucket(bLive)
		x := &q.idx
		x.mu.Lock()
		defer x.mu.Unlock()
		for x.delayed.Len() > 0 {
			r := x.delayed[0]
			if r.runAt <= n {
				heap.Pop(&x.delayed)
				continue
			}
			if r.seq > durable {
				// Queued by a commit still being written: the snapshot
				// cannot judge it. Keep it; a wake too early is harmless.
				next = r.runAt
				return nil
			}
			if !queuedAt(live, x.id(r), r.seq) {
				heap.Pop(&x.delayed)
				continue
			}
			next = r.runAt
			return nil
		}
		return nil
	})
	return nanoTime(next), err
}

// OldestReady is, per priority, the earliest ready time among the heads of
// the index's heaps that are claimable by now (stale heads, whose job is
// no longer queued at that sequence, are dropped on the way, as a claim
// would). A heap whose head is not due has nothing due: its entries are
// ordered by ready time, which is at least their run-at.
func (q *Queue) OldestReady(ctx context.Context, now time.Time) (map[model.Priority]time.Time, error) {
	n := now.UnixNano()
	out := map[model.Priority]time.Time{}
	durable := q.durableSeq.Load() // before the snapshot, as NextRunAt
	err := q.s.view(func(tx *bolt.Tx) error {
		live := tx.Bucket(bLive)
		x := &q.idx
		x.mu.Lock()
		defer x.mu.Unlock()
		for pi, byTask := range x.queues {
			var oldest int64
			found := false
			for k := range byTask {
				for {
					h, ok := x.head(pi, k)
					if !ok {
						break
					}
					if h.seq <= durable {
						if !queuedAt(live, x.id(h), h.seq) {
							x.pop(pi, k)
							continue
						}
					}
					if h.runAt <= n && (!found || h.readyAt < oldest) {
						oldest, found = h.readyAt, true
					}
					break
				}
			}
			if found {
				out[model.Priorities[pi]] = nanoTime(oldest)
			}
		}
		return nil
	})
	return out, err
}

// Group returns a stored group.
func (q *Queue) Group(ctx context.Context, id string) (*model.Group, error) {
	if id == "" {
		return nil, invalid("group: empty id")
	}
	return q.s.Group(id)
}

// ListGroups returns one page of groups, newest first.
func (q *Queue) ListGroups(ctx context.Context, before string, limit int) ([]*model.Group, string, error) {
	if err := checkCursor(before); err != nil {
		return nil, "", err
	}
	return q.s.ListGroups(before, limit)
}

// Members returns a group's member ids in add order.
func (q *Queue) Members(ctx context.Context, group string) ([]string, error) {
	if group == "" {
		return nil, invalid("members: empty group id")
	}
	return q.s.Members(group)
}

// Dependents returns the jobs that depend on id.
func (q *Queue) Dependents(ctx context.Context, id string) ([]model.Dep, error) {
	if id == "" {
		return nil, invalid("dependents: empty job id")
	}
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
	d, err := q.damage(ctx)
	if err != nil {
		return nil, err
	}
	c = d.listable(c)
	out := backend.Counts{}
	for si, st := range model.States {
		byp := map[model.Priority]int{}
		for pi, p := range model.Priorities {
			if n := c[si][p.Index()]; n != 0 {
				byp[p] = int(n)
			}
			_ = pi
		}
		if len(byp) > 0 {
			out[st] = byp
		}
	}
	return out, nil
}

// checkCursor refuses a paging cursor that is not an id as the engine
// makes them (a lower-case UUID), which would page from the wrong place.
func checkCursor(before string) error {
	if before == "" {
		return nil
	}
	if _, err := uuid.Parse(before); err != nil || len(before) != 36 || before != strings.ToLower(before) {
		return invalid("page cursor %.40q is not an id", before)
	}
	return nil
}
