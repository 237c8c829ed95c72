package backendtest

import (
	"cmp"
	"slices"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

// checkJob refuses a new job record that no store could take.
func checkJob(i int, j *model.Job) error {
	if j == nil || j.ID == "" {
		return errorf(backend.ErrInvalid, "job %d has no id", i+1)
	}
	if j.Task == "" {
		return errorf(backend.ErrInvalid, "job %s has no task", j.ID)
	}
	seen := map[string]bool{}
	for _, d := range j.DependsOn {
		if d.ID == "" {
			return errorf(backend.ErrInvalid, "job %s has a dependency without an id", j.ID)
		}
		if d.Policy != model.DepCancel && d.Policy != model.DepIgnore {
			return errorf(backend.ErrInvalid, "job %s: dependency %s has policy %q (want cancel or ignore)", j.ID, d.ID, d.Policy)
		}
		if seen[d.ID] {
			return errorf(backend.ErrInvalid, "job %s lists dependency %s twice", j.ID, d.ID)
		}
		seen[d.ID] = true
	}
	return nil
}

// Insert is backend.Writer.Insert.
func (m *Model) Insert(p backend.InsertParams) ([]backend.Inserted, error) {
	if len(p.Jobs) == 0 && len(p.Groups) == 0 {
		return nil, errorf(backend.ErrInvalid, "insert: no jobs and no groups")
	}
	for i, g := range p.Groups {
		if g == nil || g.ID == "" {
			return nil, errorf(backend.ErrInvalid, "insert: group %d has no id", i+1)
		}
	}
	for i, j := range p.Jobs {
		if err := checkJob(i, j); err != nil {
			return nil, err
		}
	}
	var out []backend.Inserted
	err := m.write(func(w *Model) error {
		before := w.queued()
		var err error
		if out, err = w.insert(p); err != nil {
			return err
		}
		return w.checkRoom(p.MaxQueued, before)
	})
	return out, err
}

// queued counts the queued jobs.
func (m *Model) queued() int {
	n := 0
	for _, j := range m.jobs {
		if j.State == model.Queued {
			n++
		}
	}
	return n
}

// checkRoom refuses a write that grew the queue past max (0: no limit);
// one that did not grow it passes, however full the queue.
func (m *Model) checkRoom(max, before int) error {
	if after := m.queued(); max > 0 && after > before && after > max {
		return errorf(backend.ErrFull, "queue is full: %d queued, limit %d", before, max)
	}
	return nil
}

func (m *Model) insert(p backend.InsertParams) ([]backend.Inserted, error) {
	for _, g := range p.Groups {
		if m.groups[g.ID] != nil {
			return nil, errorf(backend.ErrConflict, "group %s already exists", g.ID)
		}
		ng := g.Clone()
		ng.Size, ng.Last, ng.Counts, ng.FinishedAt = 0, "", map[model.State]int{}, time.Time{}
		m.groups[g.ID] = ng
	}
	c := &change{}
	ids := make([]string, len(p.Jobs))
	existing := make([]bool, len(p.Jobs))
	for i, in := range p.Jobs {
		if in.Key != "" {
			if id, ok := m.keys[in.Key]; ok {
				ids[i], existing[i] = id, true
				continue
			}
		}
		if m.jobs[in.ID] != nil {
			return nil, errorf(backend.ErrConflict, "job %s already exists", in.ID)
		}
		for _, d := range in.DependsOn {
			if m.jobs[d.ID] == nil {
				return nil, errorf(backend.ErrNotFound, "job %s: dependency %s not found", in.ID, d.ID)
			}
		}
		j := in.Clone()
		j.State, j.QueuedAt, j.FinishedAt, j.PausedFrom = "", time.Time{}, time.Time{}, ""
		if j.Group != "" {
			g := m.groups[j.Group]
			if g == nil {
				return nil, errorf(backend.ErrNotFound, "job %s: group %s not found", j.ID, j.Group)
			}
			m.join(j, g)
		}
		m.jobs[j.ID] = j
		if j.Key != "" {
			m.keys[j.Key] = j.ID
		}
		if p.Hold {
			m.setState(c, j, model.Created, p.Now)
		} else {
			m.enqueue(c, j, p.Now)
		}
		ids[i] = j.ID
	}
	out := make([]backend.Inserted, len(ids))
	for i, id := range ids {
		out[i] = backend.Inserted{Job: m.jobs[id].Clone(), Existing: existing[i]}
	}
	return out, nil
}

// join makes j the newest member of g; in a sequential group j waits for
// the member before it. The caller has checked for cycles.
func (m *Model) join(j *model.Job, g *model.Group) {
	if g.Sequential && g.Last != "" && !slices.ContainsFunc(j.DependsOn, func(d model.Dep) bool { return d.ID == g.Last }) {
		j.DependsOn = append(j.DependsOn, model.Dep{ID: g.Last, Policy: model.DepCancel})
	}
	j.Group = g.ID
	m.members[g.ID] = append(m.members[g.ID], j.ID)
	g.Size++
	g.Last = j.ID
}

// readyAt is when a queued job became ready: max(QueuedAt, RunAt).
func readyAt(j *model.Job) time.Time {
	if j.RunAt.After(j.QueuedAt) {
		return j.RunAt
	}
	return j.QueuedAt
}

// Claim is backend.Writer.Claim.
func (m *Model) Claim(p backend.ClaimParams) ([]*model.Job, error) {
	if err := p.Check(); err != nil {
		return nil, errorf(backend.ErrInvalid, "%v", err)
	}
	var out []*model.Job
	err := m.write(func(w *Model) error {
		var ready []*model.Job
		for _, j := range w.jobs {
			if j.State == model.Queued && !j.RunAt.After(p.Now) {
				ready = append(ready, j)
			}
		}
		slices.SortFunc(ready, func(a, b *model.Job) int {
			return cmp.Or(cmp.Compare(b.Priority, a.Priority), readyAt(a).Compare(readyAt(b)), cmp.Compare(w.seq[a.ID], w.seq[b.ID]))
		})
		left := make(map[string]int, len(p.Quota))
		for task, n := range p.Quota {
			left[task] = n
		}
		plugins := make(map[string]int, len(p.PluginQuota))
		for pl, n := range p.PluginQuota {
			plugins[pl] = n
		}
		anyLeft := p.AnyTask
		// The capacity's rule (backend.Capacity): held is what a job
		// that did not fit lacks.
		var free model.Resources
		var held model.Mask
		if p.Capacity != nil {
			free = p.Capacity.Free
		}
		c := &change{}
		for _, j := range ready {
			if len(out) == p.Limit {
				break
			}
			// A task in Quota has its own budget; any other shares
			// AnyTask; a capped plugin caps all of its tasks.
			pl := model.PluginOf(j.Task)
			_, listed := p.Quota[j.Task]
			budget := anyLeft
			if listed {
				budget = left[j.Task]
			}
			if n, capped := plugins[pl]; capped {
				budget = min(budget, n)
			}
			if budget <= 0 {
				continue
			}
			if cp := p.Capacity; cp != nil {
				need := j.Resources
				if need.Lacks(cp.Total) != 0 || need.Uses()&held != 0 {
					continue
				}
				if lack := need.Lacks(free); lack != 0 {
					held |= lack
					continue
				}
				free = free.Sub(need)
			}
			if listed {
				left[j.Task]--
			} else {
				anyLeft--
			}
			if _, capped := plugins[pl]; capped {
				plugins[pl]--
			}
			j.Owner = p.Owner
			j.Attempt++
			j.StartedAt = model.Later(p.Now, j.QueuedAt)
			j.RunAt = time.Time{}
			j.Progress = model.Progress{}
			j.Attempts = append(j.Attempts, model.AttemptRecord{Attempt: j.Attempt, StartedAt: j.StartedAt, Owner: p.Owner})
			w.setState(c, j, model.Running, p.Now)
			out = append(out, j.Clone())
		}
		return nil
	})
	return out, err
}

// guard reports whether a write about attempt of id by owner may apply.
func (m *Model) guard(id, owner string, attempt int) *model.Job {
	j := m.jobs[id]
	if j == nil || !runs(j) || j.Owner != owner || j.Attempt != attempt {
		return nil
	}
	return j
}

// Finish is backend.Writer.Finish.
func (m *Model) Finish(fs []backend.Finish) (backend.Changes, error) {
	if len(fs) == 0 {
		return backend.Changes{}, errorf(backend.ErrInvalid, "finish: nothing to finish")
	}
	for _, f := range fs {
		if f.ID == "" || f.Owner == "" {
			return backend.Changes{}, errorf(backend.ErrInvalid, "finish: a finish without a job id or owner")
		}
		switch f.State {
		case model.Completed, model.Failed, model.Canceled, model.Queued:
		default:
			return backend.Changes{}, errorf(backend.ErrInvalid, "finish %s: state %q (want completed, failed, canceled or queued)", f.ID, f.State)
		}
	}
	var out backend.Changes
	err := m.write(func(w *Model) error {
		c := &change{}
		for _, f := range fs {
			j := w.guard(f.ID, f.Owner, f.Attempt)
			if j == nil {
				c.skipped = append(c.skipped, f.ID)
				continue
			}
			w.finish(c, j, f)
		}
		w.settle(c, lastAt(fs))
		out = w.changes(c)
		return nil
	})
	return out, err
}

// lastAt is the time a batch of finishes stamps on the jobs its outcomes
// cascade to: the latest of the attempts' ends.
func lastAt(fs []backend.Finish) time.Time {
	var t time.Time
	for _, f := range fs {
		if f.At.After(t) {
			t = f.At
		}
	}
	return t
}

func (m *Model) finish(c *change, j *model.Job, f backend.Finish) {
	if n := len(j.Attempts); n > 0 && j.Attempts[n-1].Attempt == j.Attempt {
		j.Attempts[n-1].FinishedAt = f.At
		j.Attempts[n-1].Error = cloneErr(f.Error)
	}
	if f.Progress != nil {
		j.Progress = *f.Progress
	}
	state := f.State
	if j.CancelRequested && (state == model.Queued || state == model.Failed) {
		// The cancel was asked before this end was committed: it wins
		// over a retry or a failure, as it would have on the host.
		state = model.Canceled
	}
	requested := j.CancelRequested && j.Error != nil
	j.CancelRequested = false
	j.Owner = ""
	switch state {
	case model.Completed:
		// A completed job is done: its progress is whole, whatever the
		// task last said.
		j.Progress.Fraction = 1
		j.Result = f.Result
		j.Error = nil
		m.setState(c, j, model.Completed, f.At)
	case model.Failed:
		j.Error = cloneErr(f.Error)
		m.setState(c, j, model.Failed, f.At)
	case model.Canceled:
		if !requested {
			j.Error = cloneErr(f.Error)
		}
		m.setState(c, j, model.Canceled, f.At)
	case model.Queued:
		j.Error = cloneErr(f.Error)
		j.RunAt = f.RetryAt
		if j.State == model.Paused {
			// Paused while running: the next attempt waits for resume.
			j.PausedFrom = model.Queued
			c.job(j, j.State)
			return
		}
		m.setState(c, j, model.Queued, f.At)
	}
}

func cloneErr(e *model.JobError) *model.JobError {
	if e == nil {
		return nil
	}
	c := *e
	return &c
}

// Progress is backend.Writer.Progress.
func (m *Model) Progress(ps []backend.ProgressUpdate) error {
	for _, p := range ps {
		if p.ID == "" || p.Owner == "" {
			return errorf(backend.ErrInvalid, "progress: an update without a job id or owner")
		}
	}
	return m.write(func(w *Model) error {
		for _, p := range ps {
			if j := w.guard(p.ID, p.Owner, p.Attempt); j != nil {
				j.Progress = p.Progress
			}
		}
		return nil
	})
}

// Request is backend.Writer.Request.
func (m *Model) Request(r backend.Request) (backend.RequestResult, error) {
	if r.ID == "" {
		return backend.RequestResult{}, errorf(backend.ErrInvalid, "request: no job id")
	}
	if r.Kind < backend.RequestCancel || r.Kind > backend.RequestSubmit {
		return backend.RequestResult{}, errorf(backend.ErrInvalid, "request %s: unknown kind %d", r.ID, r.Kind)
	}
	var out backend.RequestResult
	err := m.write(func(w *Model) error {
		j := w.jobs[r.ID]
		if j == nil {
			return errorf(backend.ErrNotFound, "job %s not found", r.ID)
		}
		c := &change{}
		before := w.queued()
		if err := w.request(c, j, r); err != nil {
			return err
		}
		w.settle(c, r.Now)
		if err := w.checkRoom(r.MaxQueued, before); err != nil {
			return err
		}
		out.Job = j.Clone()
		if runs(j) && r.Kind != backend.RequestRetry && r.Kind != backend.RequestSubmit {
			out.Owner = j.Owner
		}
		out.Changes = w.changes(c)
		return nil
	})
	return out, err
}

func (m *Model) request(c *change, j *model.Job, r backend.Request) error {
	switch r.Kind {
	case backend.RequestCancel:
		if j.State.Terminal() {
			return errorf(backend.ErrState, "job %s is already %s; nothing to cancel", j.ID, j.State)
		}
		why := cloneErr(r.Why)
		if why == nil {
			why = UserCancelError()
		}
		m.cancel(c, j, why, r.Now)
	case backend.RequestPause:
		switch j.State {
		case model.Queued, model.Waiting, model.Running:
		default:
			return errorf(backend.ErrState, "job %s is %s: only queued, waiting or running jobs can be paused", j.ID, j.State)
		}
		from := j.State
		m.setState(c, j, model.Paused, r.Now)
		j.PausedFrom = from
		if from == model.Running {
			m.signal = true
		}
	case backend.RequestResume:
		if j.State != model.Paused {
			return errorf(backend.ErrState, "job %s is %s, not paused", j.ID, j.State)
		}
		if j.PausedFrom == model.Running {
			m.setState(c, j, model.Running, r.Now)
			m.signal = true
			return nil
		}
		m.enqueue(c, j, r.Now)
	case backend.RequestRetry:
		if j.State != model.Failed && j.State != model.Canceled {
			return errorf(backend.ErrState, "job %s is %s: only failed or canceled jobs can be retried", j.ID, j.State)
		}
		m.retry(c, j, r.Now)
	case backend.RequestSubmit:
		if j.State != model.Created {
			return errorf(backend.ErrState, "job %s is %s, not created: only created jobs can be submitted", j.ID, j.State)
		}
		m.enqueue(c, j, r.Now)
	}
	return nil
}

// retry runs a failed or canceled job again with a fresh attempt budget,
// and re-arms, transitively, the jobs its failure canceled.
func (m *Model) retry(c *change, j *model.Job, now time.Time) {
	m.requeue(c, j, now)
	work := []string{j.ID}
	for len(work) > 0 {
		dep := work[0]
		work = work[1:]
		for _, d := range m.dependents(dep) {
			dj := m.jobs[d.ID]
			if dj.State == model.Canceled && dj.Error != nil && dj.Error.Kind == errkind.DependencyFailed && dj.Error.Dependency == dep {
				m.requeue(c, dj, now)
				work = append(work, dj.ID)
			}
		}
	}
}

func (m *Model) requeue(c *change, j *model.Job, now time.Time) {
	j.AttemptBase = j.Attempt
	j.CancelRequested = false
	j.Result = nil
	j.Error = nil
	j.RunAt = time.Time{}
	j.Owner = ""
	m.enqueue(c, j, now)
}

// recheck places a waiting or queued job whose dependencies grew.
func (m *Model) recheck(c *change, j *model.Job, now time.Time) {
	if j.State != model.Waiting && j.State != model.Queued {
		return
	}
	cancelBy, pending, _ := m.readiness(j)
	switch {
	case cancelBy != nil:
		j.Error = DependencyFailedError(cancelBy)
		m.setState(c, j, model.Canceled, now)
	case pending && j.State == model.Queued:
		m.setState(c, j, model.Waiting, now)
	}
}

// AddDependencies is backend.Writer.AddDependencies.
func (m *Model) AddDependencies(id string, deps []model.Dep, now time.Time) (backend.Changes, error) {
	if id == "" {
		return backend.Changes{}, errorf(backend.ErrInvalid, "add dependencies: no job id")
	}
	if len(deps) == 0 {
		return backend.Changes{}, errorf(backend.ErrInvalid, "add dependencies to %s: none given", id)
	}
	if err := checkJob(0, &model.Job{ID: id, Task: "-", DependsOn: deps}); err != nil {
		return backend.Changes{}, err
	}
	for _, d := range deps {
		if d.ID == id {
			return backend.Changes{}, errorf(backend.ErrInvalid, "job %s cannot depend on itself", id)
		}
	}
	var out backend.Changes
	err := m.write(func(w *Model) error {
		j := w.jobs[id]
		if j == nil {
			return errorf(backend.ErrNotFound, "job %s not found", id)
		}
		switch j.State {
		case model.Created, model.Waiting, model.Queued:
		default:
			return errorf(backend.ErrState, "job %s is %s: dependencies can be added to created, waiting or queued jobs", id, j.State)
		}
		for _, d := range deps {
			if w.jobs[d.ID] == nil {
				return errorf(backend.ErrNotFound, "dependency %s not found", d.ID)
			}
			if slices.ContainsFunc(j.DependsOn, func(x model.Dep) bool { return x.ID == d.ID }) {
				return errorf(backend.ErrConflict, "job %s already depends on %s", id, d.ID)
			}
			if w.reaches(d.ID, id) {
				return errorf(backend.ErrConflict, "job %s depending on %s would close a cycle", id, d.ID)
			}
			j.DependsOn = append(j.DependsOn, d)
		}
		c := &change{}
		w.recheck(c, j, now)
		w.settle(c, now)
		out = w.changes(c)
		return nil
	})
	return out, err
}

// AddToGroup is backend.Writer.AddToGroup.
func (m *Model) AddToGroup(group string, ids []string, now time.Time) (backend.Changes, error) {
	if group == "" {
		return backend.Changes{}, errorf(backend.ErrInvalid, "add to group: no group id")
	}
	if len(ids) == 0 {
		return backend.Changes{}, errorf(backend.ErrInvalid, "add to group %s: no jobs given", group)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" {
			return backend.Changes{}, errorf(backend.ErrInvalid, "add to group %s: a job without an id", group)
		}
		if seen[id] {
			return backend.Changes{}, errorf(backend.ErrInvalid, "add to group %s: job %s listed twice", group, id)
		}
		seen[id] = true
	}
	var out backend.Changes
	err := m.write(func(w *Model) error {
		g := w.groups[group]
		if g == nil {
			return errorf(backend.ErrNotFound, "group %s not found", group)
		}
		c := &change{}
		for _, id := range ids {
			j := w.jobs[id]
			if j == nil {
				return errorf(backend.ErrNotFound, "job %s not found", id)
			}
			if j.State != model.Created {
				return errorf(backend.ErrState, "job %s is %s: only created jobs can join a group", id, j.State)
			}
			if j.Group != "" {
				return errorf(backend.ErrState, "job %s is already in group %s; a job belongs to at most one group", id, j.Group)
			}
			if g.Sequential && g.Last != "" && w.reaches(g.Last, id) {
				return errorf(backend.ErrConflict, "job %s waiting for %s, the member before it in group %s, would close a cycle", id, g.Last, group)
			}
			w.join(j, g)
			g.Counts[j.State]++
			w.groupTime(g, now)
			if !slices.Contains(c.groups, group) {
				c.groups = append(c.groups, group)
			}
		}
		w.settle(c, now)
		out = w.changes(c)
		return nil
	})
	return out, err
}
