package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/runner"
)

// ErrUnknownTask is returned for a job or schedule of a task no loaded
// plugin serves.
var ErrUnknownTask = runner.ErrUnknownTask

// HasTask reports whether a loaded plugin serves task.
func (e *Engine) HasTask(task string) bool {
	return slices.Contains(e.runner.Tasks(), task)
}

// Insert stores new jobs (see backend.Writer.Insert) under the host's
// queue limit. When this host has free workers it claims in the same
// transaction, so that a job submitted to an idle host starts after one
// commit.
func (e *Engine) Insert(ctx context.Context, p backend.InsertParams) ([]backend.Inserted, error) {
	if err := e.checkFailed(); err != nil {
		return nil, err
	}
	for i, j := range p.Jobs {
		if !e.HasTask(j.Task) {
			err := fmt.Errorf("task %q: %w (the task list shows what the loaded plugins offer)", j.Task, ErrUnknownTask)
			if len(p.Jobs) > 1 {
				err = fmt.Errorf("job %d: %w", i+1, err)
			}
			return nil, err
		}
	}
	p.MaxQueued = e.cfg.MaxQueueSize
	if p.Now.IsZero() {
		p.Now = e.cfg.Clock.Now()
	}
	// With free workers the insert claims too; the claimed attempts start
	// as soon as the store decided (before the commit is durable, as a
	// round's do), and are told after the insert.
	var r *claimRound
	if !p.Hold {
		e.mu.Lock()
		if free := e.cfg.MaxWorkers - len(e.attempts) - e.reserved; e.canClaimLocked(free) {
			e.reserved += free
			e.claiming = true
			quota, plugins := e.quotaLocked(free, nil, p.Now)
			r = &claimRound{reserve: free, applied: make(chan struct{})}
			p.Claim = &backend.ClaimParams{Owner: e.cfg.Owner, Limit: free, Now: p.Now, Quota: quota, PluginQuota: plugins, AnyTask: e.anyTask(free),
				Capacity: e.capacityLocked(nil),
				Applied:  func(claimed []*model.Job) { e.decided(r, claimed, nil) }}
		}
		e.mu.Unlock()
	}
	// Its place in the order of telling is taken before the write, as a
	// round's claim takes its place when issued.
	t := e.nextTold()
	res, err := e.store.Insert(ctx, p)
	if r != nil {
		e.decided(r, res.Claimed, err)
	}
	if err != nil {
		e.fail(err)
		if r != nil {
			e.voidClaim(r)
			if unavailable(err) {
				e.lostClaim()
			}
		}
		// Nothing to tell: the caller hears at once, and the place in
		// the order of telling passes on once the writes before it were
		// told (which, in an outage, may be once it is over).
		e.tellers.Add(1)
		go func() {
			defer e.tellers.Done()
			<-t.prev
			if r != nil {
				e.settleClaim(r, err)
			}
			close(t.done)
		}()
		return nil, err
	}
	defer close(t.done)
	<-t.prev
	var jobs []*model.Job
	var prev []model.State
	for _, in := range res.Jobs {
		if !in.Existing && in.Job.State != model.Created {
			jobs = append(jobs, in.Job)
			prev = append(prev, model.Created)
		}
	}
	e.observe(backend.Changes{Jobs: jobs, Prev: prev, Groups: res.Groups})
	if r != nil {
		e.settleClaim(r, nil)
	}
	return res.Jobs, nil
}

// Request applies a user's request to a job and reaches its attempt when
// this host runs it.
func (e *Engine) Request(ctx context.Context, r backend.Request) (*model.Job, error) {
	if err := e.checkFailed(); err != nil {
		return nil, err
	}
	r.MaxQueued = e.cfg.MaxQueueSize
	if r.Now.IsZero() {
		r.Now = e.cfg.Clock.Now()
	}
	// A running attempt of this host is stopped before the pause is
	// recorded, so that nothing of it arrives after the paused state.
	var paused *attempt
	if r.Kind == backend.RequestPause {
		e.mu.Lock()
		if a := e.attempts[r.ID]; a != nil {
			paused = a
			a.ctl.pause()
		}
		e.mu.Unlock()
	}
	res, err := e.store.Request(ctx, r)
	if err != nil {
		if paused != nil {
			paused.ctl.resume()
		}
		e.fail(err)
		return nil, err
	}
	// Told after whatever the engine wrote before the request was
	// answered (a claim of the job, an outcome).
	t := e.nextTold()
	defer close(t.done)
	<-t.prev
	if res.Owner == e.cfg.Owner {
		e.mu.Lock()
		if a := e.attempts[r.ID]; a != nil && a.job.Attempt == res.Job.Attempt {
			switch r.Kind {
			case backend.RequestCancel:
				a.job.CancelRequested = true
				a.ctl.cancel(runner.ErrCanceled)
			case backend.RequestPause:
				a.ctl.pause()
			case backend.RequestResume:
				a.ctl.resume()
			}
		}
		e.mu.Unlock()
	}
	e.observe(res.Changes)
	if r.Kind != backend.RequestCancel && r.Kind != backend.RequestPause {
		e.Wake()
	}
	return res.Job, nil
}

// AddDependencies makes a job wait for more jobs.
func (e *Engine) AddDependencies(ctx context.Context, id string, deps []model.Dep) error {
	if err := e.checkFailed(); err != nil {
		return err
	}
	ch, err := e.store.AddDependencies(ctx, id, deps, e.cfg.Clock.Now())
	if err != nil {
		e.fail(err)
		return err
	}
	e.observe(ch)
	return nil
}

// AddToGroup adds created jobs to a group, all or none.
func (e *Engine) AddToGroup(ctx context.Context, group string, ids []string) error {
	if err := e.checkFailed(); err != nil {
		return err
	}
	ch, err := e.store.AddToGroup(ctx, group, ids, e.cfg.Clock.Now())
	if err != nil {
		e.fail(err)
		return err
	}
	e.observe(ch)
	return nil
}

// WaitJob blocks until a job is finished and returns it.
func (e *Engine) WaitJob(ctx context.Context, id string) (*model.Job, error) {
	return wait(ctx, e, e.waiters, id, e.store.Job, func(j *model.Job) bool { return j.State.Terminal() })
}

// WaitGroup blocks until every member of a group is finished (a group with
// no members yet waits for members added later).
func (e *Engine) WaitGroup(ctx context.Context, id string) (*model.Group, error) {
	return wait(ctx, e, e.gwaiters, id, e.store.Group, (*model.Group).Done)
}

// wait registers for id's end in waiters (observe answers it), then reads
// the record: one that ended before the registration is answered by the
// read, one that ends after it by observe.
func wait[T any](ctx context.Context, e *Engine, waiters map[string][]chan T, id string,
	read func(context.Context, string) (T, error), ended func(T) bool) (T, error) {
	var zero T
	ch := make(chan T, 1)
	e.mu.Lock()
	waiters[id] = append(waiters[id], ch)
	e.mu.Unlock()
	forget := func() {
		e.mu.Lock()
		waiters[id] = slices.DeleteFunc(waiters[id], func(c chan T) bool { return c == ch })
		if len(waiters[id]) == 0 {
			delete(waiters, id)
		}
		e.mu.Unlock()
	}
	v, err := read(ctx, id)
	if err != nil {
		forget()
		return zero, err
	}
	if ended(v) {
		forget()
		return v, nil
	}
	// On a shared store another host may end it, and only its engine
	// hears of that: look at the record again, soon at first (a request
	// just made ends a job within milliseconds), then less and less
	// often, up to the poll interval, so that long waits cost little.
	var poll <-chan time.Time
	every := min(firstWaitPoll, e.cfg.PollInterval)
	t := time.NewTimer(every)
	defer t.Stop()
	if e.cfg.Shared {
		poll = t.C
	}
	for {
		select {
		case v := <-ch:
			return v, nil
		case <-poll:
			if v, err := read(ctx, id); err == nil && ended(v) {
				forget()
				return v, nil
			}
			every = min(2*every, e.cfg.PollInterval)
			t.Reset(every)
		case <-ctx.Done():
			forget()
			return zero, ctx.Err()
		case <-e.stopped:
			forget()
			return zero, ErrClosed
		}
	}
}

// Waiters counts the WaitJob calls waiting for a job (for tests).
func (e *Engine) Waiters(id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.waiters[id])
}

// Progress is the last progress this host's attempt of a job reported.
func (e *Engine) Progress(id string) (model.Progress, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a := e.attempts[id]; a != nil {
		return a.progress, true
	}
	return model.Progress{}, false
}

// GroupProgress is the sum of the progress last reported by this host's
// attempts of a group's members: a group's record counts its members by
// state, and the running ones' share of the group's progress is here.
func (e *Engine) GroupProgress(group string) float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	sum := 0.0
	for _, a := range e.attempts {
		if a.job.Group == group {
			sum += a.progress.Fraction
		}
	}
	return sum
}

// firstWaitPoll is how soon a wait on a shared store first looks at the
// record again.
const firstWaitPoll = 25 * time.Millisecond

// ErrClosed is returned to waiters when the engine stops.
var ErrClosed = errors.New("engine closed")
