package host

import (
	"fmt"
	"time"

	"github.com/batchhost/batchhost/host/internal/deps"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/queue"
	"github.com/batchhost/batchhost/host/internal/runner"
)

// setState moves a job along the state machine and keeps every derived
// count in step: queue size, group counters, the event stream. Callers check
// legality first; an illegal move here is an engine bug, logged and refused.
func (e *engine) setState(js *jobState, ev model.Event, to model.State) bool {
	j := js.job
	from := j.State
	if err := model.Transition(from, ev, to); err != nil {
		e.log.Error("engine bug: refused transition", "job", j.ID, "error", err)
		return false
	}
	now := e.clock.Now()
	j.State = to
	if from == model.Queued {
		e.queued--
		e.queue.Remove(j.ID)
	}
	if to == model.Queued {
		e.queued++
		j.QueuedAt = now
		e.queue.Push(queue.Item{ID: j.ID, Task: j.Task, Level: j.Priority.Index(), NotBefore: j.RunAt}, now)
	}
	if to != model.Paused {
		j.PausedFrom = ""
	}
	if gs := e.groups[j.Group]; gs != nil {
		gs.g.Move(from, to)
		e.markGroup(gs)
	}
	e.markJob(js)
	e.events = append(e.events, Event{
		Type: EventJobState, Time: now, Job: j.ID, Task: j.Task, Group: j.Group,
		State: to, PrevState: from, Attempt: j.Attempt, Error: toJobError(j.Error),
	})
	if to.Terminal() {
		j.FinishedAt = now
		js.finishGen++
		e.cascade = append(e.cascade, js)
		gen := js.finishGen
		id := j.ID
		e.afterCommit(func(err error) {
			if err == nil {
				e.inbox.post(func(e *engine) { e.evict(id, gen) })
			}
		})
	}
	return true
}

// resolveCascade settles what finished jobs mean for others: dependents
// become ready or are canceled (transitively), and a failed member of a
// cancel-on-failure group cancels its group. It is a worklist, not
// recursion, so a chain of 10,000 costs no stack.
func (e *engine) resolveCascade() {
	for len(e.cascade) > 0 {
		js := e.cascade[0]
		e.cascade = e.cascade[1:]
		j := js.job
		if !j.State.Terminal() {
			continue // retried before we got here
		}
		for id := range e.dependents[j.ID] {
			if dj := e.jobs[id]; dj != nil {
				e.depFinished(dj, j)
			}
		}
		delete(e.dependents, j.ID)
		if gs := e.groups[j.Group]; gs != nil {
			gs.removeLive(js)
			if gs.g.CancelsOthers(j.State) {
				for id := range gs.live {
					if m := e.jobs[id]; m != nil && !m.job.State.Terminal() {
						e.cancelJob(m, &model.JobError{Kind: errkind.Canceled,
							Message: fmt.Sprintf("canceled: group member %s failed", j.ID)})
					}
				}
			}
		}
	}
}

// depFinished applies the outcome of dependency dep to the waiting job dj.
func (e *engine) depFinished(dj *jobState, dep *model.Job) {
	j := dj.job
	switch deps.OnFinish(j, dep.ID, dep.State) {
	case deps.Cancel:
		e.cancelJob(dj, deps.FailedError(dep.ID, dep.State))
	case deps.Satisfied:
		dj.unfinished--
		if dj.unfinished <= 0 {
			dj.unfinished = 0
			if j.State == model.Waiting {
				e.setState(dj, model.EvDepsReady, model.Queued)
			}
		}
	}
}

// cancelJob cancels a job in any unfinished state. A running attempt is
// asked to stop; the job becomes canceled when it has, so that its slot and
// process are really free when Wait returns.
func (e *engine) cancelJob(js *jobState, why *model.JobError) {
	j := js.job
	if js.ctl != nil {
		if !j.CancelRequested {
			j.CancelRequested = true
			j.Error = why
			e.markJob(js)
			js.ctl.cancel(runner.ErrCanceled)
		}
		return
	}
	j.Error = why
	e.setState(js, model.EvCancel, model.Canceled)
}

// evict drops a finished job from memory once its final state is durable,
// and answers whoever waits for it.
func (e *engine) evict(id string, gen int) {
	js := e.jobs[id]
	if js == nil || !js.job.State.Terminal() || js.finishGen != gen {
		return
	}
	snap := toJob(js.job)
	for _, w := range js.waiters {
		w <- snap
	}
	js.waiters = nil
	delete(e.jobs, id)
	if k := js.job.Key; k != "" && e.keys[k] == id {
		delete(e.keys, k)
	}
	// The group is not evicted here: its memory may be ahead of its
	// durable record. flushGroup evicts it after the commit that made it
	// done.
}

// flushGroup writes a changed group and tells subscribers.
func (e *engine) flushGroup(gs *groupState) {
	g := gs.g
	if g.Done() && g.FinishedAt.IsZero() {
		g.FinishedAt = e.clock.Now()
	} else if !g.Done() {
		g.FinishedAt = time.Time{}
	}
	e.batch.PutGroup(g)
	st := e.groupStatus(gs)
	e.events = append(e.events, Event{Type: EventGroup, Time: e.clock.Now(), Group: g.ID, GroupStatus: &st})
	if g.Done() {
		gs.gen++
		gen, id := gs.gen, g.ID
		e.afterCommit(func(err error) {
			if err == nil {
				e.inbox.post(func(e *engine) {
					if gs := e.groups[id]; gs != nil && gs.gen == gen && gs.g.Done() {
						e.evictGroup(gs)
					}
				})
			}
		})
	}
}

// evictGroup answers group waiters, and forgets a group with no unfinished
// member: its durable record is current, and whoever needs it again (a
// retried member, a new member) loads it from the store.
func (e *engine) evictGroup(gs *groupState) {
	snap := e.groupSnapshot(gs, nil)
	for _, w := range gs.waiters {
		w <- snap
	}
	gs.waiters = nil
	if len(gs.live) == 0 {
		delete(e.groups, gs.g.ID)
	}
}
