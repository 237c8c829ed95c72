package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

func invalid(format string, args ...any) error {
	return newError(backend.ErrInvalid, nil, fmt.Sprintf(format, args...))
}

func stateErr(format string, args ...any) error {
	return newError(backend.ErrState, nil, fmt.Sprintf(format, args...))
}

// Insert stores new jobs; see backend.Writer.
func (q *Queue) Insert(ctx context.Context, p backend.InsertParams) ([]backend.Inserted, error) {
	for i, j := range p.Jobs {
		if j == nil || j.ID == "" || j.Task == "" {
			return nil, invalid("insert: job %d has no id or task", i+1)
		}
		if err := checkID("job", j.ID); err != nil {
			return nil, invalid("insert: %v", err)
		}
	}
	for _, g := range p.Groups {
		if g == nil || g.ID == "" {
			return nil, invalid("insert: a group has no id")
		}
	}
	var out []backend.Inserted
	err := q.do(ctx, func(w *wtx) error {
		if !p.Now.IsZero() {
			w.now = p.Now
		}
		var err error
		out, err = w.insert(p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (w *wtx) insert(p backend.InsertParams) ([]backend.Inserted, error) {
	// Check everything first: a refused insert writes nothing.
	keys := map[string]string{}
	ids := map[string]bool{}
	existing := make([]string, len(p.Jobs))
	for _, g := range p.Groups {
		if w.bk.groups.Get([]byte(g.ID)) != nil || ids["g:"+g.ID] {
			return nil, newError(backend.ErrConflict, nil, fmt.Sprintf("group %s already exists", g.ID))
		}
		ids["g:"+g.ID] = true
	}
	for i, j := range p.Jobs {
		if j.Key != "" {
			if id, ok := keys[j.Key]; ok {
				existing[i] = id
				continue
			}
			if id := w.bk.keys.Get([]byte(j.Key)); id != nil {
				existing[i] = string(id)
				continue
			}
			keys[j.Key] = j.ID
		}
		if ids[j.ID] || w.bk.jobs.Get([]byte(j.ID)) != nil {
			return nil, newError(backend.ErrConflict, nil, fmt.Sprintf("job %s already exists", j.ID))
		}
		for _, d := range j.DependsOn {
			if d.ID == j.ID {
				return nil, newError(backend.ErrConflict, nil, fmt.Sprintf("job %s cannot depend on itself", j.ID))
			}
			if !ids[d.ID] && w.bk.jobs.Get([]byte(d.ID)) == nil {
				return nil, newError(backend.ErrNotFound, nil, fmt.Sprintf("job %d: dependency %s not found", i+1, d.ID))
			}
		}
		if j.Group != "" && !ids["g:"+j.Group] && w.bk.groups.Get([]byte(j.Group)) == nil {
			return nil, newError(backend.ErrNotFound, nil, fmt.Sprintf("job %d: group %s not found", i+1, j.Group))
		}
		ids[j.ID] = true
	}

	for _, g := range p.Groups {
		g := g.Clone()
		g.Size, g.Last, g.Counts, g.FinishedAt = 0, "", map[model.State]int{}, time.Time{}
		ge := &groupEntry{g: g, inserted: true}
		w.groups[g.ID] = ge
		w.touchGroup(ge)
	}
	c := w.newChanges()
	out := make([]backend.Inserted, len(p.Jobs))
	for i, in := range p.Jobs {
		if id := existing[i]; id != "" {
			e, err := w.job(id)
			if err != nil {
				return nil, err
			}
			out[i] = backend.Inserted{Job: e.j, Existing: true}
			continue
		}
		j := in.Clone()
		group := j.Group
		j.Group = ""
		j.State = model.Created
		j.FinishedAt = time.Time{}
		e := w.add(j)
		if j.Key != "" {
			if err := w.bk.keys.Put([]byte(j.Key), []byte(j.ID)); err != nil {
				return nil, err
			}
		}
		for _, d := range j.DependsOn {
			if err := w.bk.edges.Put(edgeKey(d.ID, j.ID), []byte(d.Policy)); err != nil {
				return nil, err
			}
		}
		if group != "" {
			ge, err := w.group(group)
			if err != nil {
				return nil, err
			}
			// A fresh job has no dependents: its sequential edge cannot
			// close a cycle.
			if err := w.join(ge, e); err != nil {
				return nil, err
			}
		}
		if !p.Hold {
			if err := w.enqueue(c, e); err != nil {
				return nil, err
			}
		}
		out[i] = backend.Inserted{Job: j}
	}
	if err := w.settle(c); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Job = out[i].Job.Clone()
	}
	return out, nil
}

// join makes a created job the next member of a group; in a sequential
// group it waits for the member added before it.
func (w *wtx) join(ge *groupEntry, e *jobEntry) error {
	g, j := ge.g, e.j
	if g.Sequential && g.Last != "" && !slices.ContainsFunc(j.DependsOn, func(d model.Dep) bool { return d.ID == g.Last }) {
		j.DependsOn = append(j.DependsOn, model.Dep{ID: g.Last, Policy: model.DepCancel})
		if err := w.bk.edges.Put(edgeKey(g.Last, j.ID), []byte(model.DepCancel)); err != nil {
			return err
		}
	}
	if err := w.q.s.putMember(w.bk, memberPut{group: g.ID, pos: g.Size, job: j.ID}); err != nil {
		return err
	}
	j.Group = g.ID
	g.Size++
	g.Last = j.ID
	g.Counts[j.State]++
	w.touch(e)
	w.touchGroup(ge)
	w.groupChanged(ge)
	return nil
}

// Claim moves up to p.Limit ready jobs to running; see backend.Writer.
func (q *Queue) Claim(ctx context.Context, p backend.ClaimParams) ([]*model.Job, error) {
	if p.Owner == "" {
		return nil, invalid("claim: empty owner")
	}
	if p.Limit <= 0 || len(p.Quota) == 0 {
		return nil, nil
	}
	var out []*model.Job
	err := q.do(ctx, func(w *wtx) error {
		if !p.Now.IsZero() {
			w.now = p.Now
		}
		var err error
		out, err = w.claim(p)
		return err
	})
	return out, err
}

func (w *wtx) claim(p backend.ClaimParams) ([]*model.Job, error) {
	quota := make(map[string]int, len(p.Quota))
	for t, n := range p.Quota {
		if n > 0 {
			quota[t] = n
		}
	}
	now := w.now.UnixNano()
	x := &w.q.idx
	var picked []readyEntry
	x.mu.Lock()
	for pi := len(x.queues) - 1; pi >= 0 && len(picked) < p.Limit; pi-- {
		for len(picked) < p.Limit {
			best, found := readyEntry{}, false
			for task, n := range quota {
				if n <= 0 {
					continue
				}
				for {
					h, ok := x.head(pi, task)
					if !ok {
						break
					}
					if !w.valid(h) {
						w.popped = append(w.popped, x.pop(pi, task))
						continue
					}
					if h.readyAt <= now && (!found || h.readyAt < best.readyAt || (h.readyAt == best.readyAt && h.seq < best.seq)) {
						best, found = h, true
					}
					break
				}
			}
			if !found {
				break
			}
			e := x.pop(pi, best.task)
			w.popped = append(w.popped, e)
			w.writes++
			picked = append(picked, e)
			quota[best.task]--
		}
	}
	x.mu.Unlock()

	out := make([]*model.Job, 0, len(picked))
	c := w.newChanges()
	for _, r := range picked {
		e, err := w.job(r.id)
		if err != nil {
			return nil, err
		}
		j := e.j
		j.Attempt++
		j.StartedAt = w.now
		j.RunAt = time.Time{}
		j.Progress = model.Progress{}
		j.Owner = p.Owner
		j.Attempts = append(j.Attempts, model.AttemptRecord{Attempt: j.Attempt, StartedAt: w.now})
		if err := w.move(c, e, model.Running); err != nil {
			return nil, err
		}
		out = append(out, j.Clone())
	}
	return out, nil
}

// Finish ends attempts; see backend.Writer.
func (q *Queue) Finish(ctx context.Context, fs []backend.Finish) (backend.Changes, error) {
	for _, f := range fs {
		switch f.State {
		case model.Completed, model.Failed, model.Canceled, model.Queued:
		default:
			return backend.Changes{}, invalid("finish %s: state %q is not an outcome (completed, failed, canceled, queued)", f.ID, f.State)
		}
		if f.ID == "" || f.Owner == "" {
			return backend.Changes{}, invalid("finish: empty job id or owner")
		}
	}
	var out backend.Changes
	err := q.do(ctx, func(w *wtx) error {
		c := w.newChanges()
		for _, f := range fs {
			if err := w.finish(c, f); err != nil {
				return err
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

func (w *wtx) finish(c *changes, f backend.Finish) error {
	e, err := w.job(f.ID)
	if err != nil {
		c.skipped = append(c.skipped, f.ID)
		return nil
	}
	j := e.j
	if !runs(j) || j.Owner != f.Owner || j.Attempt != f.Attempt {
		c.skipped = append(c.skipped, f.ID)
		return nil
	}
	at := f.At
	if at.IsZero() {
		at = w.now
	}
	if n := len(j.Attempts); n > 0 {
		j.Attempts[n-1].FinishedAt = at
		j.Attempts[n-1].Error = f.Error
	}
	if f.Progress != nil {
		j.Progress = *f.Progress
	}
	to := f.State
	if j.CancelRequested && to != model.Completed {
		to = model.Canceled
	}
	paused := j.State == model.Paused
	switch to {
	case model.Completed:
		j.Result = f.Result
		j.Error = nil
		j.CancelRequested = false
		j.Progress.Fraction = 1
		return w.move(c, e, model.Completed)
	case model.Canceled:
		j.CancelRequested = false
		if j.Error == nil {
			j.Error = f.Error
		}
		return w.move(c, e, model.Canceled)
	case model.Queued:
		j.Error = f.Error
		j.RunAt = f.RetryAt
		if paused {
			// Paused while running: the next attempt waits for resume.
			w.touch(e)
			j.PausedFrom = model.Queued
			c.job(e)
			return nil
		}
		return w.move(c, e, model.Queued)
	}
	j.Error = f.Error
	return w.move(c, e, model.Failed)
}

// Progress records progress of running attempts; see backend.Writer.
func (q *Queue) Progress(ctx context.Context, ps []backend.ProgressUpdate) error {
	if len(ps) == 0 {
		return nil
	}
	return q.do(ctx, func(w *wtx) error {
		for _, p := range ps {
			e, err := w.job(p.ID)
			if err != nil {
				continue
			}
			if !runs(e.j) || e.j.Owner != p.Owner || e.j.Attempt != p.Attempt {
				continue
			}
			e.j.Progress = p.Progress
			w.touch(e)
		}
		return nil
	})
}
