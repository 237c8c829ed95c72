package store

import (
	"bytes"
	"fmt"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/deps"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

// changes collects what one operation changed, for its answer.
type changes struct {
	seen    map[string]bool
	jobs    []*jobEntry
	prev    []model.State
	groups  map[string]bool
	gorder  []string
	stop    []*jobEntry
	skipped []string
	cascade []*jobEntry // finished jobs whose dependents and group are not settled yet
}

func (w *wtx) newChanges() *changes {
	return &changes{seen: map[string]bool{}, groups: map[string]bool{}}
}

// job records that e changed; prev is its state before (the first call
// for a job in an operation wins).
func (c *changes) job(e *jobEntry, prev model.State) {
	if !c.seen[e.j.ID] {
		c.seen[e.j.ID] = true
		c.jobs = append(c.jobs, e)
		c.prev = append(c.prev, prev)
	}
	if g := e.j.Group; g != "" && !c.groups[g] {
		c.groups[g] = true
		c.gorder = append(c.gorder, g)
	}
}

// move is setState plus bookkeeping of the operation's changes: a job that
// finishes joins the cascade.
func (w *wtx) move(c *changes, e *jobEntry, to model.State) error {
	prev := e.j.State
	if err := w.setState(e, to); err != nil {
		return err
	}
	c.job(e, prev)
	if to.Terminal() {
		c.cascade = append(c.cascade, e)
	}
	return nil
}

// settle resolves the cascade: dependents of finished jobs are released or
// canceled, and a failed member of a cancel-on-failure group cancels the
// rest of its group, transitively. A worklist, so long chains cost no
// stack.
func (w *wtx) settle(c *changes) error {
	for len(c.cascade) > 0 {
		e := c.cascade[0]
		c.cascade = c.cascade[1:]
		j := e.j
		if !j.State.Terminal() {
			continue
		}
		if err := w.forDependents(j.ID, func(dep string, policy model.DepPolicy) error {
			de, err := w.job(dep)
			if err != nil {
				w.q.s.skipDamaged("job", []byte(dep), err) // logged; left aside
				return nil                                 // pruned, or damaged
			}
			return w.depFinished(c, de, j, policy)
		}); err != nil {
			return err
		}
		if j.Group != "" && j.State == model.Failed {
			ge, err := w.group(j.Group)
			if w.q.s.skipDamaged("group", []byte(j.Group), err) {
				continue
			}
			if err != nil {
				return err
			}
			if ge.g.CancelOnFailure {
				why := &model.JobError{Kind: errkind.Canceled, Message: fmt.Sprintf("canceled: group member %s failed", j.ID)}
				if err := w.forMembers(j.Group, func(id string) error {
					st, ok, err := w.state(id)
					if w.q.s.skipDamaged("job", []byte(id), err) {
						return nil
					}
					if err != nil || !ok || st.Terminal() {
						return err
					}
					me, err := w.job(id)
					if w.q.s.skipDamaged("job", []byte(id), err) {
						return nil // left aside, as everywhere
					}
					if err != nil {
						return err
					}
					return w.cancel(c, me, why)
				}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// depFinished applies the outcome of dependency dep to the job de.
func (w *wtx) depFinished(c *changes, de *jobEntry, dep *model.Job, policy model.DepPolicy) error {
	j := de.j
	if j.State.Terminal() || j.State == model.Created {
		return nil
	}
	switch deps.Judge(dep.State, policy) {
	case deps.Cancel:
		return w.cancel(c, de, deps.FailedError(dep.ID, dep.State))
	case deps.Satisfied:
		if j.State != model.Waiting {
			return nil
		}
		pending, cancelBy, after, err := w.readiness(j)
		switch {
		case err != nil:
			return err
		case cancelBy != nil:
			// A failed dependency under the cancel policy wins.
			return w.cancel(c, de, deps.FailedError(cancelBy.ID, cancelBy.State))
		case pending > 0:
			return nil
		}
		return w.queue(c, de, after)
	}
	return nil
}

// cancel cancels an unfinished job. A running attempt is asked to stop:
// the job is canceled when its attempt finishes.
func (w *wtx) cancel(c *changes, e *jobEntry, why *model.JobError) error {
	j := e.j
	if runs(j) {
		if !j.CancelRequested {
			j.CancelRequested = true
			j.Error = why
			w.touch(e)
			c.job(e, j.State)
			c.stop = append(c.stop, e)
			w.signal = true
		}
		return nil
	}
	j.Error = why
	return w.move(c, e, model.Canceled)
}

// readiness counts a job's unfinished dependencies and finds the first
// that cancels it. A dependency that is no longer stored was pruned after
// it finished: it blocks nothing.
//
// after is when the last of its finished dependencies finished.
func (w *wtx) readiness(j *model.Job) (pending int, cancelBy *model.Job, after time.Time, err error) {
	for _, d := range j.DependsOn {
		st, done, ok, err := w.stateAt(d.ID)
		if w.q.s.skipDamaged("job", []byte(d.ID), err) {
			// Its outcome cannot be read: the dependent waits rather
			// than run (or be canceled) on a guess.
			pending++
			continue
		}
		if err != nil {
			return 0, nil, time.Time{}, err
		}
		if !ok {
			continue
		}
		after = model.Later(after, done)
		switch deps.Judge(st, d.Policy) {
		case deps.Pending:
			pending++
		case deps.Cancel:
			if cancelBy == nil {
				cancelBy = &model.Job{ID: d.ID, State: st}
			}
		}
	}
	return pending, cancelBy, after, nil
}

// enqueue places a job that is entering the queue (submitted, resumed,
// retried): canceled if a dependency failed under the cancel policy,
// waiting while any is unfinished, else queued.
func (w *wtx) enqueue(c *changes, e *jobEntry) error {
	pending, cancelBy, after, err := w.readiness(e.j)
	if err != nil {
		return err
	}
	switch {
	case cancelBy != nil:
		e.j.Error = deps.FailedError(cancelBy.ID, cancelBy.State)
		return w.move(c, e, model.Canceled)
	case pending > 0:
		return w.move(c, e, model.Waiting)
	}
	return w.queue(c, e, after)
}

// queue moves a job whose dependencies are done to Queued, stamped no
// earlier than after, when the last of them finished: a caller's time
// is taken before its write reaches the writer, and a dependency's
// finish written in between (the engine's round took its time later)
// may carry a later one.
func (w *wtx) queue(c *changes, e *jobEntry, after time.Time) error {
	if after.After(w.now) {
		now := w.now
		w.now = after
		defer func() { w.now = now }()
	}
	return w.move(c, e, model.Queued)
}

// forDependents calls fn for each stored edge dep → dependent.
func (w *wtx) forDependents(dep string, fn func(dependent string, policy model.DepPolicy) error) error {
	p := prefix(dep)
	var ids []string
	var pols []model.DepPolicy
	cur := w.bk.edges.Cursor()
	for k, v := cur.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = cur.Next() {
		ids = append(ids, string(k[len(p):]))
		pols = append(pols, model.DepPolicy(v))
	}
	for i, id := range ids {
		if err := fn(id, pols[i]); err != nil {
			return err
		}
	}
	return nil
}

// forMembers calls fn for each member of a group, in add order.
func (w *wtx) forMembers(group string, fn func(id string) error) error {
	for _, id := range memberIDs(w.bk.members, group) {
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

// result turns the operation's changes into the port's answer, with
// copies: the records stay the transaction's.
func (w *wtx) result(c *changes) backend.Changes {
	var out backend.Changes
	for _, e := range c.jobs {
		out.Jobs = append(out.Jobs, e.j.Clone())
	}
	out.Prev = c.prev
	for _, id := range c.gorder {
		if ge := w.groups[id]; ge != nil && ge.dirty {
			out.Groups = append(out.Groups, ge.g.Clone())
		}
	}
	for _, e := range c.stop {
		out.Stop = append(out.Stop, e.j.Clone())
	}
	out.Skipped = c.skipped
	return out
}
