package store

import (
	"container/heap"
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
func (q *Queue) Insert(ctx context.Context, p backend.InsertParams) (backend.InsertResult, error) {
	for i, j := range p.Jobs {
		if j == nil || j.ID == "" || j.Task == "" {
			return backend.InsertResult{}, invalid("insert: job %d has no id or task", i+1)
		}
		if err := checkID("job", j.ID); err != nil {
			return backend.InsertResult{}, invalid("insert: %v", err)
		}
	}
	for _, g := range p.Groups {
		if g == nil || g.ID == "" {
			return backend.InsertResult{}, invalid("insert: a group has no id")
		}
	}
	if p.Claim != nil {
		if err := checkClaim(*p.Claim); err != nil {
			return backend.InsertResult{}, err
		}
	}
	if len(p.Jobs) == 0 && len(p.Groups) == 0 {
		return backend.InsertResult{}, invalid("insert: no jobs and no groups")
	}
	for i, j := range p.Jobs {
		seen := map[string]bool{}
		for _, d := range j.DependsOn {
			switch {
			case d.ID == "":
				return backend.InsertResult{}, invalid("insert: job %d has a dependency without id", i+1)
			case d.Policy != model.DepCancel && d.Policy != model.DepIgnore:
				return backend.InsertResult{}, invalid("insert: job %d: dependency %s has policy %q (want cancel or ignore)", i+1, d.ID, d.Policy)
			case seen[d.ID]:
				return backend.InsertResult{}, invalid("insert: job %d lists dependency %s twice", i+1, d.ID)
			}
			seen[d.ID] = true
		}
	}
	var out backend.InsertResult
	var early func()
	if p.Claim != nil {
		early = applied(p.Claim.Applied, &out.Claimed)
	}
	err := q.doEarly(ctx, func(w *wtx) error {
		if !p.Now.IsZero() {
			w.now = p.Now
		}
		out = backend.InsertResult{}
		var err error
		if out.Jobs, err = w.insert(p); err != nil {
			return err
		}
		for _, ge := range w.gorder {
			if !ge.deleted {
				out.Groups = append(out.Groups, ge.g.Clone())
			}
		}
		if p.Claim != nil {
			out.Claimed, err = w.claim(*p.Claim)
		}
		return err
	}, early)
	if err != nil {
		return backend.InsertResult{}, err
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
				return nil, newError(backend.ErrNotFound, nil, jobPrefix(i, len(p.Jobs))+fmt.Sprintf("dependency %s: job %s not found", d.ID, d.ID))
			}
		}
		if j.Group != "" && !ids["g:"+j.Group] && w.bk.groups.Get([]byte(j.Group)) == nil {
			return nil, newError(backend.ErrNotFound, nil, jobPrefix(i, len(p.Jobs))+fmt.Sprintf("group %s not found", j.Group))
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
	queuedBefore := w.queued()
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
	if err := w.checkRoom(p.MaxQueued, queuedBefore); err != nil {
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
		// A pruned last member stays on the job's record (it counts as
		// completed) but gets no stored edge: Dependents of a job that is
		// not stored is empty, and Prune, which deletes a job's edges, has
		// already run for it.
		if _, stored, err := w.state(g.Last); err != nil {
			return err
		} else if stored {
			if err := w.bk.edges.Put(edgeKey(g.Last, j.ID), []byte(model.DepCancel)); err != nil {
				return err
			}
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
	if err := checkClaim(p); err != nil {
		return nil, err
	}
	if len(p.Quota) == 0 && p.AnyTask <= 0 {
		return nil, nil
	}
	if !q.idx.mayClaim(p) {
		return nil, nil
	}
	if p.Applied != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return q.claimEarly(p)
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
	x := &w.q.idx
	x.mu.Lock()
	w.indexReady()
	picked := x.pick(p, w.now.UnixNano(), w.valid, &w.popped)
	x.mu.Unlock()
	w.writes += len(picked)
	taken, err := w.take(p, picked)
	if err != nil {
		return nil, err
	}
	out := make([]*model.Job, len(taken))
	for i, j := range taken {
		out[i] = j.Clone()
	}
	return out, nil
}

// pick takes from the index, in claim order, up to p.Limit entries that
// valid accepts, within p's quotas and capacity; stale entries it meets are popped into
// *popped as well. The caller holds x.mu.
func (x *readyIndex) pick(p backend.ClaimParams, now int64, valid func(readyEntry) bool, popped *[]readyEntry) []readyEntry {
	quota := make(map[string]int, len(p.Quota))
	for t, n := range p.Quota {
		if n > 0 {
			quota[t] = n
		}
	}
	anyTask := p.AnyTask
	// budget is how many more jobs of task may be claimed.
	plugins := make(map[string]int, len(p.PluginQuota))
	for pl, n := range p.PluginQuota {
		plugins[pl] = n
	}
	budget := func(task string) int {
		n := anyTask
		if _, ok := p.Quota[task]; ok {
			n = quota[task]
		}
		if pn, ok := plugins[model.PluginOf(task)]; ok {
			n = min(n, pn)
		}
		return n
	}
	take := func(task string) {
		if _, ok := p.Quota[task]; ok {
			quota[task]--
		} else {
			anyTask--
		}
		if _, ok := plugins[model.PluginOf(task)]; ok {
			plugins[model.PluginOf(task)]--
		}
	}
	// The capacity rule (backend.Capacity): held is what a job that did
	// not fit lacks; heaps needing any of it are passed over from then
	// on. Jobs beyond the whole capacity are set aside for this claim.
	var free, total model.Resources
	if p.Capacity != nil {
		free, total = p.Capacity.Free, p.Capacity.Total
	}
	var held model.Mask
	var aside []readyEntry
	var picked []readyEntry
	for pi := len(x.queues) - 1; pi >= 0 && len(picked) < p.Limit; pi-- {
		for len(picked) < p.Limit {
			best, found := readyEntry{}, false
			var bestKey readyKey
			for k := range x.queues[pi] {
				if budget(k.task) <= 0 || k.uses&held != 0 {
					continue
				}
				for {
					h, ok := x.head(pi, k)
					if !ok {
						break
					}
					if !valid(h) {
						*popped = append(*popped, x.pop(pi, k))
						continue
					}
					if p.Capacity != nil && x.need(h).Lacks(total) != 0 {
						aside = append(aside, x.pop(pi, k))
						continue
					}
					if h.runAt <= now && (!found || h.readyAt < best.readyAt || (h.readyAt == best.readyAt && h.seq < best.seq)) {
						best, bestKey, found = h, k, true
					}
					break
				}
			}
			if !found {
				break
			}
			if p.Capacity != nil {
				if lack := x.need(best).Lacks(free); lack != 0 {
					held |= lack
					continue
				}
				free = free.Sub(x.need(best))
			}
			e := x.pop(pi, bestKey)
			*popped = append(*popped, e)
			picked = append(picked, e)
			take(bestKey.task)
		}
	}
	for _, e := range aside {
		heap.Push(x.heapOf(e), e)
		x.size++
	}
	return picked
}

// take moves picked jobs to running for p.Owner. It answers the
// transaction's own records: the caller clones what it hands out.
func (w *wtx) take(p backend.ClaimParams, picked []readyEntry) ([]*model.Job, error) {
	out := make([]*model.Job, 0, len(picked))
	c := w.newChanges()
	ids := w.q.idx.ids(picked)
	for _, id := range ids {
		e, err := w.job(id)
		if w.q.s.skipDamaged("job", []byte(id), err) {
			// Taken out of the ready index, never run: the claim goes on
			// with the jobs behind it.
			continue
		}
		if err != nil {
			return nil, err
		}
		stampClaim(e.j, p.Owner, w.now)
		if err := w.move(c, e, model.Running); err != nil {
			return nil, err
		}
		out = append(out, e.j)
	}
	return out, nil
}

// stampClaim is what a claim changes in a job besides its state: one
// function, so that a claim decided ahead of its transaction (the lane)
// hands out exactly the record the transaction then writes.
//
// An attempt starts no earlier than its job was queued: a claim's Now is
// taken before the claim commits, and the job's release, committed in
// between, may carry a later time.
func stampClaim(j *model.Job, owner string, now time.Time) {
	now = model.Later(now, j.QueuedAt)
	j.Attempt++
	j.StartedAt = now
	j.RunAt = time.Time{}
	j.Progress = model.Progress{}
	j.Owner = owner
	j.Attempts = append(j.Attempts, model.AttemptRecord{Attempt: j.Attempt, StartedAt: now, Owner: owner})
}

// Finish ends attempts; see backend.Writer.
func (q *Queue) Finish(ctx context.Context, fs []backend.Finish) (backend.Changes, error) {
	if err := checkFinishes(fs); err != nil {
		return backend.Changes{}, err
	}
	var out backend.Changes
	err := q.do(ctx, func(w *wtx) error {
		c := w.newChanges()
		if err := w.finishAll(c, fs); err != nil {
			return err
		}
		out = w.result(c)
		return nil
	})
	return out, err
}

// finishAll applies a batch of finishes, each stamped with its own At,
// then settles the cascades, stamped with the latest At of the batch.
func (w *wtx) finishAll(c *changes, fs []backend.Finish) error {
	var latest time.Time
	for _, f := range fs {
		if !f.At.IsZero() {
			w.now = f.At
			latest = model.Later(latest, f.At)
		}
		if err := w.finish(c, f); err != nil {
			return err
		}
	}
	if !latest.IsZero() {
		w.now = latest
	}
	return w.settle(c)
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
	j.Owner = ""
	switch to {
	case model.Completed:
		j.Result = f.Result
		j.Error = nil
		j.CancelRequested = false
		j.Progress.Fraction = 1 // a completed job is whole, whatever it last reported
		return w.move(c, e, model.Completed)
	case model.Canceled:
		// A requested cancel keeps the request's error; otherwise the
		// attempt's.
		if !j.CancelRequested || j.Error == nil {
			j.Error = f.Error
		}
		j.CancelRequested = false
		return w.move(c, e, model.Canceled)
	case model.Queued:
		j.Error = f.Error
		j.RunAt = f.RetryAt
		j.CancelRequested = false
		if paused {
			// Paused while running: the next attempt waits for resume.
			w.touch(e)
			j.PausedFrom = model.Queued
			c.job(e, model.Paused)
			return nil
		}
		return w.move(c, e, model.Queued)
	}
	j.Error = f.Error
	j.CancelRequested = false
	return w.move(c, e, model.Failed)
}

// Step finishes, records progress and claims in one transaction.
func (q *Queue) Step(ctx context.Context, p backend.StepParams) (backend.StepResult, error) {
	if err := checkFinishes(p.Finish); err != nil {
		return backend.StepResult{}, err
	}
	if err := checkProgress(p.Progress); err != nil {
		return backend.StepResult{}, err
	}
	if p.Claim.Limit > 0 {
		if err := checkClaim(p.Claim); err != nil {
			return backend.StepResult{}, err
		}
	}
	if len(p.Finish) == 0 && len(p.Progress) == 0 && (p.Claim.Limit <= 0 || !q.idx.mayClaim(p.Claim)) {
		return backend.StepResult{}, nil // nothing to write: no commit
	}
	var out backend.StepResult
	err := q.doEarly(ctx, func(w *wtx) error {
		if !p.Claim.Now.IsZero() {
			w.now = p.Claim.Now
		}
		out = backend.StepResult{}
		c := w.newChanges()
		if err := w.finishAll(c, p.Finish); err != nil {
			return err
		}
		out.Changes = w.result(c)
		if !p.Claim.Now.IsZero() {
			w.now = p.Claim.Now
		}
		w.progress(p.Progress)
		if p.Claim.Limit > 0 {
			var err error
			out.Claimed, err = w.claim(p.Claim)
			return err
		}
		return nil
	}, applied(p.Claim.Applied, &out.Claimed))
	return out, err
}

// applied is the early hook that hands a claim's jobs to the caller's
// Applied, or nil.
func applied(fn func([]*model.Job), claimed *[]*model.Job) func() {
	if fn == nil {
		return nil
	}
	return func() { fn(*claimed) }
}

// Progress records progress of running attempts; see backend.Writer.
func (q *Queue) Progress(ctx context.Context, ps []backend.ProgressUpdate) error {
	if err := checkProgress(ps); err != nil {
		return err
	}
	if len(ps) == 0 {
		return nil
	}
	return q.do(ctx, func(w *wtx) error {
		w.progress(ps)
		return nil
	})
}

func (w *wtx) progress(ps []backend.ProgressUpdate) {
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
}

// queued is the number of queued jobs, as this transaction sees it.
func (w *wtx) queued() int64 {
	var n int64
	for _, c := range w.counts[stateIndex(model.Queued)] {
		n += c
	}
	return n
}

// checkRoom refuses an operation that grew the queue past max.
func (w *wtx) checkRoom(max int, before int64) error {
	if max <= 0 {
		return nil
	}
	if after := w.queued(); after > before && after > int64(max) {
		return newError(backend.ErrFull, nil, fmt.Sprintf("queue is full: %d queued, limit %d (MaxQueueSize)", before, max))
	}
	return nil
}

func checkFinishes(fs []backend.Finish) error {
	for _, f := range fs {
		switch f.State {
		case model.Completed, model.Failed, model.Canceled, model.Queued:
		default:
			return invalid("finish %s: state %q is not an outcome (completed, failed, canceled, queued)", f.ID, f.State)
		}
		if f.ID == "" || f.Owner == "" {
			return invalid("finish: empty job id or owner")
		}
	}
	return nil
}

// jobPrefix names the job at fault in a call with several ("job 3: ").
func jobPrefix(i, n int) string {
	if n > 1 {
		return fmt.Sprintf("job %d: ", i+1)
	}
	return ""
}

func checkProgress(ps []backend.ProgressUpdate) error {
	for _, u := range ps {
		if u.ID == "" || u.Owner == "" {
			return invalid("progress: empty job id or owner")
		}
	}
	return nil
}

func checkClaim(p backend.ClaimParams) error {
	if err := p.Check(); err != nil {
		return invalid("%v", err)
	}
	return nil
}
