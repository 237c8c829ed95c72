package host

import (
	"errors"
	"fmt"

	"github.com/batchhost/batchhost/host/internal/deps"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/store"
)

// lookup finds a job in memory or, if it is finished and evicted, in the
// store; found jobs from the store are not added to memory.
func (e *engine) lookup(id string) (*model.Job, error) {
	if js := e.jobs[id]; js != nil {
		return js.job, nil
	}
	j, err := e.store.Job(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("job", id)
	}
	return j, err
}

// live returns the in-memory state of a job, loading a finished one from
// the store when an operation (retry) brings it back to life.
func (e *engine) live(id string) (*jobState, error) {
	if js := e.jobs[id]; js != nil {
		return js, nil
	}
	j, err := e.lookup(id)
	if err != nil {
		return nil, err
	}
	js := &jobState{job: j}
	return js, nil
}

// adopt puts a job loaded from the store back in memory.
func (e *engine) adopt(js *jobState) {
	e.jobs[js.job.ID] = js
	if k := js.job.Key; k != "" {
		e.keys[k] = js.job.ID
	}
}

// prepareJobs validates new jobs without changing anything: the task
// exists, dependencies exist, the group exists. It returns the id each
// spec resolves to (an existing job's, for an idempotency key in use) and
// the jobs that are really new. With several jobs, an error names the one
// at fault ("job 3: ...").
func (e *engine) prepareJobs(jobs []*model.Job) ([]string, []*jobState, error) {
	ids := make([]string, len(jobs))
	var fresh []*jobState
	batchKeys := map[string]string{}
	for i, j := range jobs {
		id, isNew, err := e.prepareJob(j, batchKeys)
		if err != nil {
			if len(jobs) > 1 {
				return nil, nil, fmt.Errorf("job %d: %w", i+1, err)
			}
			return nil, nil, err
		}
		ids[i] = id
		if isNew {
			fresh = append(fresh, &jobState{job: j})
		}
	}
	return ids, fresh, nil
}

// prepareJob checks one new job; id is the job it resolves to, isNew
// false when its key names a kept job (or one earlier in the batch).
func (e *engine) prepareJob(j *model.Job, batchKeys map[string]string) (id string, isNew bool, err error) {
	if !e.plugins.HasTask(j.Task) {
		return "", false, fmt.Errorf("task %q: %w (the task list shows what the loaded plugins offer)", j.Task, ErrUnknownTask)
	}
	if j.Key != "" {
		if id, ok := batchKeys[j.Key]; ok {
			return id, false, nil
		}
		id, err := e.idByKey(j.Key)
		if err != nil || id != "" {
			return id, false, err
		}
		batchKeys[j.Key] = j.ID
	}
	for _, d := range j.DependsOn {
		if _, err := e.lookup(d.ID); err != nil {
			return "", false, fmt.Errorf("dependency %s: %w", d.ID, err)
		}
	}
	if j.Group != "" {
		if _, err := e.group(j.Group); err != nil {
			return "", false, err
		}
	}
	return j.ID, true, nil
}

// recordJobs records prepared jobs (state created) with their edges and
// group membership.
func (e *engine) recordJobs(fresh []*jobState) {
	for _, js := range fresh {
		j := js.job
		group := j.Group
		j.Group = ""
		e.adopt(js)
		e.markJob(js)
		for _, d := range j.DependsOn {
			e.batch.AddEdge(d.ID, j.ID, d.Policy)
			e.link(d.ID, j.ID)
		}
		if group == "" {
			continue
		}
		gs, err := e.group(group)
		if err == nil {
			// A fresh job has no dependents, so its sequential edge cannot
			// close a cycle; nothing else can fail for a created job.
			err = e.addToGroup(js, gs)
		}
		if err != nil {
			e.log.Error("engine bug: adding a new job to its group failed", "job", j.ID, "error", err)
		}
	}
}

func (e *engine) idByKey(key string) (string, error) {
	if id, ok := e.keys[key]; ok {
		return id, nil
	}
	id, ok, err := e.store.JobByKey(key)
	if err != nil || !ok {
		return "", err
	}
	return id, nil
}

// readiness says where a submitted job belongs now, from the current
// states of its dependencies.
func (e *engine) readiness(j *model.Job) (deps.Readiness, error) {
	edges := make([]deps.Edge, len(j.DependsOn))
	for i, d := range j.DependsOn {
		edges[i] = deps.Edge{Dep: d.ID, Policy: d.Policy}
		dep, err := e.lookup(d.ID)
		if errors.Is(err, ErrNotFound) {
			continue // pruned: deps.Assess counts it as done
		}
		if err != nil {
			return deps.Readiness{}, err
		}
		edges[i].State = dep.State
	}
	return deps.Assess(edges), nil
}

// enqueue submits a created (or re-armed) job: waiting if dependencies are
// unfinished, canceled if one failed under the cancel policy, else queued.
// from is the event that applies (submit, requeue, resume).
func (e *engine) enqueue(js *jobState, ev model.Event) error {
	j := js.job
	r, err := e.readiness(j)
	if err != nil {
		return err
	}
	if r.Cancel != nil {
		j.Error = r.Cancel
		if ev == model.EvResume {
			e.setState(js, model.EvCancel, model.Canceled)
		} else {
			// created/failed/canceled → canceled is not a submit; record the
			// submit, then the cancel, so the history stays legal.
			e.setState(js, ev, model.Waiting)
			e.setState(js, model.EvCancel, model.Canceled)
		}
		return nil
	}
	js.unfinished = r.Unfinished
	if r.Unfinished > 0 {
		e.linkAll(js) // a resumed job may wait for a dependency retried since
		e.setState(js, ev, model.Waiting)
	} else {
		e.setState(js, ev, model.Queued)
	}
	return nil
}

// linkAll indexes js under each of its unfinished dependencies.
func (e *engine) linkAll(js *jobState) {
	for _, d := range js.job.DependsOn {
		e.link(d.ID, js.job.ID)
	}
}

// wouldQueue counts how many of these jobs would enter state queued at
// once, for the queue limit.
func (e *engine) wouldQueue(jss []*jobState) (int, error) {
	n := 0
	inBatch := map[string]bool{}
	for _, js := range jss {
		inBatch[js.job.ID] = true
	}
	seq := map[string]bool{} // sequential groups a new job of this batch joins
	for _, js := range jss {
		blocked := false
		for _, d := range js.job.DependsOn {
			if inBatch[d.ID] {
				blocked = true
			}
		}
		// A new job joining a sequential group waits for the member added
		// before it (its edge is added when the job is recorded).
		if g := js.job.Group; g != "" && e.jobs[js.job.ID] == nil {
			if gs, err := e.group(g); err == nil && gs.g.Sequential {
				if seq[g] {
					blocked = true
				} else if last := gs.g.Last; last != "" {
					if dep, err := e.lookup(last); err == nil && dep.State != model.Completed {
						blocked = true
					}
				}
				seq[g] = true
			}
		}
		if blocked {
			continue
		}
		r, err := e.readiness(js.job)
		if err != nil {
			return 0, err
		}
		if r.Unfinished == 0 && r.Cancel == nil {
			n++
		}
	}
	return n, nil
}

func (e *engine) checkQueueRoom(jss []*jobState) error {
	n, err := e.wouldQueue(jss)
	if err != nil {
		return err
	}
	if n > 0 && e.queued+n > e.cfg.MaxQueueSize {
		return fmt.Errorf("%w: %d queued, limit %d (MaxQueueSize)", ErrQueueFull, e.queued, e.cfg.MaxQueueSize)
	}
	return nil
}

// submitCreated submits created jobs, checking all before changing any.
func (e *engine) submitCreated(jss []*jobState) error {
	for _, js := range jss {
		if js.job.State != model.Created {
			return stateErr("job %s is %s, not created: only created jobs can be submitted", js.job.ID, js.job.State)
		}
	}
	if err := e.checkQueueRoom(jss); err != nil {
		return err
	}
	for _, js := range jss {
		if err := e.enqueue(js, model.EvSubmit); err != nil {
			return err
		}
	}
	return nil
}

func (e *engine) pauseJob(js *jobState) error {
	j := js.job
	switch j.State {
	case model.Queued, model.Waiting, model.Running:
	case model.Paused:
		return stateErr("job %s is already paused", j.ID)
	default:
		return stateErr("job %s is %s: only queued, waiting or running jobs can be paused", j.ID, j.State)
	}
	from := j.State
	if from == model.Running && js.ctl != nil {
		js.ctl.pause()
	}
	e.setState(js, model.EvPause, model.Paused)
	j.PausedFrom = from
	return nil
}

func (e *engine) resumeJob(js *jobState) error {
	j := js.job
	if j.State != model.Paused {
		return stateErr("job %s is %s, not paused", j.ID, j.State)
	}
	if js.ctl != nil {
		js.ctl.resume()
		e.setState(js, model.EvResume, model.Running)
		return nil
	}
	if js.unfinished > 0 {
		e.setState(js, model.EvResume, model.Waiting)
		return nil
	}
	return e.enqueue(js, model.EvResume)
}

func (e *engine) cancelByUser(js *jobState) error {
	if js.job.State.Terminal() {
		return stateErr("job %s is already %s; nothing to cancel", js.job.ID, js.job.State)
	}
	e.cancelJob(js, &model.JobError{Kind: errkind.Canceled, Message: "canceled by request"})
	return nil
}

// retryJob runs a failed or canceled job again with a fresh attempt
// budget, and re-arms the dependents its failure had canceled.
func (e *engine) retryJob(js *jobState) error {
	j := js.job
	if j.State != model.Failed && j.State != model.Canceled {
		return stateErr("job %s is %s: only failed or canceled jobs can be retried", j.ID, j.State)
	}
	if err := e.checkQueueRoom([]*jobState{js}); err != nil {
		return err
	}
	if _, err := e.groupOf(j); err != nil {
		return err
	}
	e.adopt(js)
	e.requeue(js)
	// Re-arm, transitively, the jobs this one's failure canceled.
	work := []*model.Job{j}
	for len(work) > 0 {
		dep := work[0]
		work = work[1:]
		edges, err := e.store.Dependents(dep.ID)
		if err != nil {
			return err
		}
		for _, d := range edges {
			djs, err := e.live(d.ID)
			if err != nil {
				continue // pruned
			}
			dj := djs.job
			switch deps.OnRetry(dj, dep.ID) {
			case deps.Requeue:
				if _, err := e.groupOf(dj); err != nil {
					return err
				}
				e.adopt(djs)
				e.requeue(djs)
				work = append(work, dj)
			case deps.WaitAgain:
				// It had counted dep as settled (ignore policy); wait again.
				if _, linked := e.dependents[dep.ID][dj.ID]; !linked && e.jobs[dj.ID] != nil {
					djs.unfinished++
					e.link(dep.ID, dj.ID)
				}
			case deps.Relink:
				// Submitted later, it must wait for dep again.
				if e.jobs[dj.ID] != nil {
					e.link(dep.ID, dj.ID)
				}
			}
		}
	}
	return nil
}

// requeue is the state change of a manual retry.
func (e *engine) requeue(js *jobState) {
	j := js.job
	j.AttemptBase = j.Attempt
	j.CancelRequested = false
	j.FinishedAt = timeZero
	j.Result = nil
	j.Error = nil
	j.RunAt = timeZero
	if gs := e.groups[j.Group]; gs != nil {
		gs.addLive(js)
	}
	e.linkAll(js)
	if err := e.enqueue(js, model.EvRequeue); err != nil {
		e.log.Error("requeue failed", "job", j.ID, "error", err)
	}
}
