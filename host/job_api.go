package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// Submit creates a job and submits it: it is queued, or waiting if it has
// unfinished dependencies. It returns once the job is durable. A spec whose
// Key matches a kept job returns that job's id and creates nothing.
func (h *Host) Submit(ctx context.Context, spec JobSpec) (string, error) {
	ids, err := h.create(ctx, []JobSpec{spec}, true)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// SubmitMany submits jobs in one durable commit: all of them or, on any
// error, none.
func (h *Host) SubmitMany(ctx context.Context, specs []JobSpec) ([]string, error) {
	return h.create(ctx, specs, true)
}

// Create records a job in state created; it does not run until
// SubmitCreated (or SubmitGroup). Created jobs can still join groups and
// gain dependencies.
func (h *Host) Create(ctx context.Context, spec JobSpec) (string, error) {
	ids, err := h.create(ctx, []JobSpec{spec}, false)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

func (h *Host) create(ctx context.Context, specs []JobSpec, submit bool) ([]string, error) {
	if len(specs) == 0 {
		return nil, invalidf("no jobs given")
	}
	if err := h.check(ctx); err != nil {
		return nil, err
	}
	ctx, span, tc := h.startCreateSpan(ctx, specs, submit)
	ids, err := h.insert(ctx, specs, submit, tc)
	endCreateSpan(span, ids, err)
	return ids, err
}

func (h *Host) insert(ctx context.Context, specs []JobSpec, submit bool, tc model.TraceContext) ([]string, error) {
	now := h.cfg.Clock.Now()
	jobs := make([]*model.Job, len(specs))
	for i, s := range specs {
		j, err := h.cfg.buildJob(s, newID(), now)
		if err != nil {
			if len(specs) > 1 {
				return nil, fmt.Errorf("job %d: %w", i+1, err)
			}
			return nil, err
		}
		j.Trace = tc
		jobs[i] = j
	}
	res, err := h.e.Insert(ctx, backend.InsertParams{Now: now, Jobs: jobs, Hold: !submit})
	if err != nil {
		return nil, fromBackend(err)
	}
	ids := make([]string, len(res))
	for i, in := range res {
		ids[i] = in.Job.ID
	}
	return ids, nil
}

// SubmitCreated submits created jobs. Every id is checked (known, created,
// listed once) before any is submitted; each submit is then its own
// durable write, and a job that left the created state after the check
// (canceled by a failed member of its cancel-on-failure group, say) is
// skipped.
func (h *Host) SubmitCreated(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return invalidf("no job ids given")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			return invalidf("job %s is listed twice", id)
		}
		seen[id] = true
		j, err := h.job(ctx, id)
		if err != nil {
			return err
		}
		if j.State != model.Created {
			return stateErr("job %s is %s, not created: only created jobs can be submitted", id, j.State)
		}
	}
	return h.requestAll(ctx, backend.RequestSubmit, ids, movedMeanwhile)
}

// movedMeanwhile says a request was refused because its job's state no
// longer allows it: the job moved after the caller read it.
func movedMeanwhile(err error) bool { return errors.Is(err, backend.ErrState) }

// requestAll makes one request of each job, in order; a job whose state
// no longer allows it (it moved since the caller looked) is skipped when
// skip says so.
func (h *Host) requestAll(ctx context.Context, kind backend.RequestKind, ids []string, skip func(error) bool) error {
	for _, id := range ids {
		if _, err := h.e.Request(ctx, backend.Request{Kind: kind, ID: id}); err != nil {
			if skip != nil && skip(err) {
				continue
			}
			return fromBackend(err)
		}
	}
	return nil
}

// AddDependencies makes a created job wait for more jobs. A dependency
// that would close a cycle is refused with a *CycleError.
func (h *Host) AddDependencies(ctx context.Context, id string, deps ...Dep) error {
	if err := h.check(ctx); err != nil {
		return err
	}
	add := make([]model.Dep, len(deps))
	for i, d := range deps {
		var err error
		if add[i], err = d.resolve(); err != nil {
			return err
		}
	}
	return fromBackend(h.e.AddDependencies(ctx, id, add))
}

// job reads a job's record, with this host's latest progress of it when
// one of its attempts runs here.
func (h *Host) job(ctx context.Context, id string) (*model.Job, error) {
	if err := h.check(ctx); err != nil {
		return nil, err
	}
	j, err := h.store.Job(ctx, id)
	if err != nil {
		return nil, fromBackend(err)
	}
	h.overlay(j)
	return j, nil
}

// overlay puts the progress this host's running attempt last reported on
// j: the store holds what the last round wrote.
func (h *Host) overlay(j *model.Job) {
	if j.State != model.Running && j.State != model.Paused {
		return
	}
	if p, ok := h.e.Progress(j.ID); ok {
		j.Progress = p
	}
}

// Get returns a snapshot of a job.
func (h *Host) Get(ctx context.Context, id string) (*Job, error) {
	j, err := h.job(ctx, id)
	if err != nil {
		return nil, err
	}
	return toJob(j), nil
}

// Wait blocks until the job is finished and its final state durable, and
// returns it. It is woken by the job's end, not by polling.
func (h *Host) Wait(ctx context.Context, id string) (*Job, error) {
	if err := h.check(ctx); err != nil {
		return nil, err
	}
	j, err := h.e.WaitJob(ctx, id)
	if err != nil {
		return nil, fromBackend(err)
	}
	return toJob(j), nil
}

// Result decodes a completed job's result into v (which may be nil to only
// check). A job that did not complete returns an error wrapping
// ErrNotCompleted and describing why.
func (h *Host) Result(ctx context.Context, id string, v any) error {
	j, err := h.Get(ctx, id)
	if err != nil {
		return err
	}
	if j.State != StateCompleted {
		if j.Error != nil {
			return fmt.Errorf("job %s is %s (%s): %w", id, j.State, j.Error.Error(), ErrNotCompleted)
		}
		return fmt.Errorf("job %s is %s: %w", id, j.State, ErrNotCompleted)
	}
	if v == nil || len(j.Result) == 0 {
		return nil
	}
	if err := json.Unmarshal(j.Result, v); err != nil {
		return fmt.Errorf("decode result of %s: %w", id, err)
	}
	return nil
}

// Cancel cancels an unfinished job. A running attempt is asked to stop and
// killed after the grace period; the job becomes canceled when it has
// stopped, and is never retried automatically. Canceling a finished job
// changes nothing and returns an error wrapping ErrState.
func (h *Host) Cancel(ctx context.Context, id string) error {
	return h.request(ctx, backend.RequestCancel, id)
}

// Pause takes a queued or waiting job out of dispatch, or suspends a
// running job's plugin process (its timeout clock stops; it keeps its
// worker slot).
func (h *Host) Pause(ctx context.Context, id string) error {
	return h.request(ctx, backend.RequestPause, id)
}

// Resume undoes Pause: the job returns to running, or to queued or waiting
// as its dependencies now dictate.
func (h *Host) Resume(ctx context.Context, id string) error {
	return h.request(ctx, backend.RequestResume, id)
}

// Retry runs a failed or canceled job again with a fresh attempt budget.
// Jobs that were canceled because this one failed are re-armed.
func (h *Host) Retry(ctx context.Context, id string) error {
	return h.request(ctx, backend.RequestRetry, id)
}

func (h *Host) request(ctx context.Context, kind backend.RequestKind, id string) error {
	if err := h.check(ctx); err != nil {
		return err
	}
	if id == "" {
		return notFound("job", id)
	}
	_, err := h.e.Request(ctx, backend.Request{Kind: kind, ID: id})
	return fromBackend(err)
}

// MaxListLimit is the largest page List and ListGroups serve.
const MaxListLimit = backend.MaxLimit

// ListFilter selects jobs for List. Empty fields match everything.
type ListFilter struct {
	States []State
	Task   string
	Group  string
	// Priorities selects jobs of any of these priorities.
	Priorities []Priority
	// Label is "key=value" (jobs with that label and value) or "key" (jobs
	// with that label, any value).
	Label string
	// Search selects jobs whose id, task or error message contains it,
	// ignoring case. It reads every job the other filters let through, so
	// a search over a large history is as slow as a full scan.
	Search string
	// Limit is the page size; 0 means 100, at most MaxListLimit.
	Limit int
	// Before is the cursor returned by the previous page.
	Before string
}

// List returns jobs newest first, one page at a time; next is the cursor
// for the following page, "" at the end.
func (h *Host) List(ctx context.Context, f ListFilter) (jobs []*Job, next string, err error) {
	if f.Limit < 0 {
		return nil, "", invalidf("limit must not be negative")
	}
	if err := checkCursor(f.Before); err != nil {
		return nil, "", err
	}
	if err := h.check(ctx); err != nil {
		return nil, "", err
	}
	recs, next, err := h.store.ListJobs(ctx, backend.JobFilter{States: f.States, Task: f.Task, Group: f.Group,
		Priorities: f.Priorities, Label: f.Label, Search: f.Search, Before: f.Before, Limit: f.Limit})
	if err != nil {
		return nil, "", fromBackend(err)
	}
	jobs = make([]*Job, len(recs))
	for i, r := range recs {
		h.overlay(r)
		jobs[i] = toJob(r)
	}
	return jobs, next, nil
}

// Stats returns counts by state, queue depth by priority and busy workers,
// from one read of the store's counts, and the number of damaged job
// records, which the counts leave out as List does.
func (h *Host) Stats(ctx context.Context) (Stats, error) {
	if err := h.check(ctx); err != nil {
		return Stats{}, err
	}
	c, err := h.store.Counts(ctx)
	if err != nil {
		return Stats{}, fromBackend(err)
	}
	st := h.e.Status()
	s := Stats{Counts: map[State]int{}, QueueDepth: map[string]int{}, MaxWorkers: h.cfg.MaxWorkers,
		BusyWorkers: st.Busy, DispatchPaused: st.Paused, Throttled: toThrottled(st.Throttled),
		CapacityInUse: toResources(st.InUse), MemoryPressure: st.MemoryPressure}
	if st.Capacity != nil {
		r := toResources(*st.Capacity)
		s.Capacity = &r
	}
	if dc, ok := h.store.(damageCounter); ok {
		if s.DamagedJobs, err = dc.DamagedJobs(ctx); err != nil {
			return Stats{}, fromBackend(err)
		}
	}
	byState := c.ByState()
	for _, state := range model.States {
		s.Counts[state] = byState[state] // every state, zero too
	}
	for _, p := range model.Priorities {
		s.QueueDepth[p.String()] = c[model.Queued][p]
	}
	return s, nil
}

// Logs returns a job's log records, oldest first.
func (h *Host) Logs(ctx context.Context, id string) ([]LogRecord, error) {
	if _, err := h.Get(ctx, id); err != nil {
		return nil, err
	}
	recs, err := h.logs.Read(id)
	if err != nil {
		return nil, err
	}
	out := make([]LogRecord, len(recs))
	for i, r := range recs {
		out[i] = LogRecord(r)
	}
	return out, nil
}
