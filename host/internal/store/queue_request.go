package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/deps"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

// Request applies a user's request to one job; see backend.Writer.
func (q *Queue) Request(ctx context.Context, r backend.Request) (backend.RequestResult, error) {
	if r.ID == "" {
		return backend.RequestResult{}, invalid("request: empty job id")
	}
	if r.Kind < backend.RequestCancel || r.Kind > backend.RequestSubmit {
		return backend.RequestResult{}, invalid("request %s: unknown kind %d", r.ID, r.Kind)
	}
	var out backend.RequestResult
	err := q.do(ctx, func(w *wtx) error {
		if !r.Now.IsZero() {
			w.now = r.Now
		}
		e, err := w.job(r.ID)
		if err != nil {
			return err
		}
		c := w.newChanges()
		before := w.queued()
		if err := w.request(c, e, r); err != nil {
			return err
		}
		if err := w.settle(c); err != nil {
			return err
		}
		if err := w.checkRoom(r.MaxQueued, before); err != nil {
			return err
		}
		out.Job = e.j.Clone()
		if runs(e.j) {
			out.Owner = e.j.Owner
			w.signal = true
		}
		out.Changes = w.result(c)
		return nil
	})
	return out, err
}

func (w *wtx) request(c *changes, e *jobEntry, r backend.Request) error {
	j := e.j
	switch r.Kind {
	case backend.RequestCancel:
		if j.State.Terminal() {
			return stateErr("job %s is already %s; nothing to cancel", j.ID, j.State)
		}
		why := r.Why
		if why == nil {
			why = &model.JobError{Kind: errkind.Canceled, Message: "canceled by request"}
		}
		return w.cancel(c, e, why)
	case backend.RequestPause:
		switch j.State {
		case model.Queued, model.Waiting, model.Running:
		case model.Paused:
			return stateErr("job %s is already paused", j.ID)
		default:
			return stateErr("job %s is %s: only queued, waiting or running jobs can be paused", j.ID, j.State)
		}
		from := j.State
		if err := w.move(c, e, model.Paused); err != nil {
			return err
		}
		j.PausedFrom = from
		return nil
	case backend.RequestResume:
		if j.State != model.Paused {
			return stateErr("job %s is %s, not paused", j.ID, j.State)
		}
		if j.PausedFrom == model.Running {
			return w.move(c, e, model.Running)
		}
		return w.enqueue(c, e)
	case backend.RequestSubmit:
		if j.State != model.Created {
			return stateErr("job %s is %s, not created: only created jobs can be submitted", j.ID, j.State)
		}
		return w.enqueue(c, e)
	case backend.RequestRetry:
		if j.State != model.Failed && j.State != model.Canceled {
			return stateErr("job %s is %s: only failed or canceled jobs can be retried", j.ID, j.State)
		}
		return w.retry(c, e)
	}
	return invalid("request %s: unknown kind %d", j.ID, r.Kind)
}

// retry runs a failed or canceled job again with a fresh attempt budget,
// and re-arms, transitively, the dependents its failure canceled.
func (w *wtx) retry(c *changes, e *jobEntry) error {
	work := []*jobEntry{e}
	for len(work) > 0 {
		re := work[0]
		work = work[1:]
		j := re.j
		j.AttemptBase = j.Attempt
		j.CancelRequested = false
		j.Result = nil
		j.Error = nil
		j.RunAt = time.Time{}
		if err := w.enqueue(c, re); err != nil {
			return err
		}
		if err := w.forDependents(j.ID, func(id string, _ model.DepPolicy) error {
			de, err := w.job(id)
			if err != nil {
				return nil // pruned
			}
			dj := de.j
			if deps.CanceledBy(dj, j.ID) {
				work = append(work, de)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// AddDependencies makes a job also wait for deps; see backend.Writer.
func (q *Queue) AddDependencies(ctx context.Context, id string, add []model.Dep, now time.Time) (backend.Changes, error) {
	if id == "" {
		return backend.Changes{}, invalid("add dependencies: empty job id")
	}
	if len(add) == 0 {
		return backend.Changes{}, invalid("add dependencies to %s: none given", id)
	}
	seen := map[string]bool{}
	for _, d := range add {
		switch {
		case d.ID == "":
			return backend.Changes{}, invalid("add dependencies to %s: empty dependency id", id)
		case d.ID == id:
			return backend.Changes{}, invalid("job %s cannot depend on itself", id)
		case d.Policy != model.DepCancel && d.Policy != model.DepIgnore:
			return backend.Changes{}, invalid("add dependencies to %s: dependency %s has policy %q (want cancel or ignore)", id, d.ID, d.Policy)
		case seen[d.ID]:
			return backend.Changes{}, invalid("add dependencies to %s: dependency %s listed twice", id, d.ID)
		}
		seen[d.ID] = true
	}
	var out backend.Changes
	err := q.do(ctx, func(w *wtx) error {
		if !now.IsZero() {
			w.now = now
		}
		e, err := w.job(id)
		if err != nil {
			return err
		}
		j := e.j
		switch {
		case j.State == model.Created, j.State == model.Waiting, j.State == model.Queued:
		default:
			return stateErr("job %s is %s: dependencies can be added to created, waiting or queued jobs", id, j.State)
		}
		var fresh []model.Dep
		for _, d := range add {
			// In the suite's order: a dependency that is gone (never was,
			// or pruned) before one that is already there.
			if _, ok, err := w.state(d.ID); err != nil {
				return err
			} else if !ok {
				return newError(backend.ErrNotFound, nil, fmt.Sprintf("dependency %s not found", d.ID))
			}
			if slices.ContainsFunc(j.DependsOn, func(x model.Dep) bool { return x.ID == d.ID }) {
				return newError(backend.ErrConflict, nil, fmt.Sprintf("job %s already depends on %s", id, d.ID))
			}
			if cyc := w.cycle(id, d.ID, fresh); cyc != nil {
				return &backend.CycleError{Path: cyc}
			}
			fresh = append(fresh, d)
		}
		c := w.newChanges()
		for _, d := range fresh {
			if err := w.bk.edges.Put(edgeKey(d.ID, id), []byte(d.Policy)); err != nil {
				return err
			}
			j.DependsOn = append(j.DependsOn, d)
			w.touch(e)
		}
		if len(fresh) > 0 && (j.State == model.Queued || j.State == model.Waiting) {
			pending, cancelBy, _, err := w.readiness(j)
			if err != nil {
				return err
			}
			switch {
			case cancelBy != nil:
				j.Error = deps.FailedError(cancelBy.ID, cancelBy.State)
				err = w.move(c, e, model.Canceled)
			case pending > 0 && j.State == model.Queued:
				err = w.move(c, e, model.Waiting)
			}
			if err != nil {
				return err
			}
		}
		if err := w.settle(c); err != nil {
			return err
		}
		c.job(e, e.j.State)
		out = w.result(c)
		return nil
	})
	return out, err
}

// cycle reports the cycle that making job wait for dep would close (also
// counting the edges extra, about to be added to job), or nil.
func (w *wtx) cycle(job, dep string, extra []model.Dep) []string {
	depsOf := func(id string) []string {
		var out []string
		if id == job {
			for _, d := range extra {
				out = append(out, d.ID)
			}
		}
		// Every stored edge counts, finished jobs' too: a retry revives them.
		e, err := w.job(id)
		if err != nil {
			return out
		}
		for _, d := range e.j.DependsOn {
			out = append(out, d.ID)
		}
		return out
	}
	return deps.FindCycle(job, dep, depsOf)
}

// AddToGroup adds created jobs to a group, all or none; see backend.Writer.
func (q *Queue) AddToGroup(ctx context.Context, group string, ids []string, now time.Time) (backend.Changes, error) {
	if group == "" {
		return backend.Changes{}, invalid("add to group: empty group id")
	}
	if len(ids) == 0 {
		return backend.Changes{}, invalid("add to group %s: no jobs given", group)
	}
	listed := map[string]bool{}
	for _, id := range ids {
		if id == "" {
			return backend.Changes{}, invalid("add to group %s: empty job id", group)
		}
		if listed[id] {
			return backend.Changes{}, invalid("add to group %s: job %s is listed twice", group, id)
		}
		listed[id] = true
	}
	var out backend.Changes
	err := q.do(ctx, func(w *wtx) error {
		if !now.IsZero() {
			w.now = now
		}
		ge, err := w.group(group)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		var es []*jobEntry
		earlier := map[string]bool{}
		if ge.g.Last != "" {
			earlier[ge.g.Last] = true
		}
		for _, id := range ids {
			seen[id] = true
			e, err := w.job(id)
			if err != nil {
				return err
			}
			j := e.j
			if j.State != model.Created {
				return stateErr("job %s is %s: only created jobs can join a group", id, j.State)
			}
			if j.Group != "" {
				return stateErr("job %s is already in group %s; a job belongs to at most one group", id, j.Group)
			}
			// In a sequential group each job will wait for every one added
			// before it: refuse when one of those already waits for it.
			if ge.g.Sequential {
				if hit := deps.FindAny(id, w.dependentsOf, func(d string) bool { return earlier[d] }); hit != "" {
					return &backend.CycleError{Path: w.cycle(id, hit, nil)}
				}
			}
			earlier[id] = true
			es = append(es, e)
		}
		c := w.newChanges()
		for _, e := range es {
			prev := e.j.State
			if err := w.join(ge, e); err != nil {
				return err
			}
			c.job(e, prev)
			// A queued job that now waits for the member before it waits.
			if prev == model.Queued {
				if pending, cancelBy, _, err := w.readiness(e.j); err != nil {
					return err
				} else if cancelBy != nil {
					e.j.Error = deps.FailedError(cancelBy.ID, cancelBy.State)
					err = w.move(c, e, model.Canceled)
					if err != nil {
						return err
					}
				} else if pending > 0 {
					if err := w.move(c, e, model.Waiting); err != nil {
						return err
					}
				}
			}
		}
		if err := w.settle(c); err != nil {
			return err
		}
		out = w.result(c)
		return nil
	})
	return out, err
}

// dependentsOf lists the jobs with an edge to id.
func (w *wtx) dependentsOf(id string) []string {
	var out []string
	_ = w.forDependents(id, func(d string, _ model.DepPolicy) error {
		out = append(out, d)
		return nil
	})
	return out
}
