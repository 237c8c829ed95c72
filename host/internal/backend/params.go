package backend

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

// InsertParams is one Insert call.
type InsertParams struct {
	// Now stamps QueuedAt and the ready order of jobs queued at once.
	Now time.Time
	// Groups are created in the same transaction, before the jobs; a
	// group id already stored is ErrConflict.
	Groups []*model.Group
	// Jobs are complete records built and validated by the engine: ID,
	// Task, Args, Priority, DependsOn (policies set), Group, Key, Labels,
	// RunAt, MaxAttempts, Backoff, timeouts, CreatedAt, Schedule. The
	// store sets State (and QueuedAt, Error for a job canceled at once).
	// A dependency or group that is not stored (nor inserted earlier in
	// the same call) is ErrNotFound, naming it. A job may depend on one
	// earlier in Jobs. (A dependency pruned after this insert counts as
	// finished successfully when the job is placed later: submit, resume,
	// retry.)
	Jobs []*model.Job
	// Hold stores the jobs as created: they wait for Request{Kind:
	// RequestSubmit} and count toward nothing until then.
	Hold bool
	// MaxQueued refuses the insert with ErrFull when it would leave more
	// than this many jobs queued (0: no limit).
	MaxQueued int
	// Claim, when set, claims after inserting, in the same transaction.
	Claim *ClaimParams
}

// InsertResult is what an Insert did.
type InsertResult struct {
	Jobs    []Inserted     // one per job given, in order
	Claimed []*model.Job   // when InsertParams.Claim was set
	Groups  []*model.Group // groups whose members or counts changed, after
}

// Inserted is what became of one job of an Insert, in the order given.
type Inserted struct {
	Job *model.Job // as stored after the insert
	// Existing: the job's idempotency key was already stored; Job is the
	// job stored under it and nothing was inserted for this entry.
	Existing bool
}

// ClaimParams is one Claim call.
type ClaimParams struct {
	Owner string // this host's id, recorded on each claimed job
	Limit int    // at most this many jobs (the host's free worker slots)
	Now   time.Time
	// Quota is, per task, how many more attempts of it this host may
	// start (tasks it serves, minus concurrency limits in use). A task
	// that is absent is not claimed at all.
	Quota map[string]int
	// PluginQuota caps, per plugin (a task name's part before its first
	// dot), the claims across the plugin's tasks; a plugin absent is not
	// capped beyond Quota.
	PluginQuota map[string]int
	// AnyTask is how many jobs of tasks absent from Quota may be claimed:
	// a host that alone serves its queue claims them to fail them as
	// unknown tasks; hosts sharing a queue pass 0.
	AnyTask int
	// Capacity, when set, bounds the claim by the needs the jobs declare
	// (model.Job.Resources); nil claims regardless of needs.
	Capacity *Capacity
	// Applied, when set, is called once with the claimed jobs (maybe
	// none) as soon as the write that claims them is decided, possibly
	// before it is durable, so that the host starts the attempts while
	// the commit is written instead of after it: the attempts' side
	// effects are at-least-once anyway, and nothing is told to anyone
	// until the call returns. If the call then fails, the claims are
	// void. It runs on the store's writer: it must be quick and must not
	// call the store. A backend that decides only at commit may call it
	// just before returning, or not at all (the caller then acts on the
	// returned claims).
	Applied func(claimed []*model.Job)
}

// Capacity is what a claim's jobs may need in all. The claim takes jobs
// in claim order while their needs fit in Free, and holds this rule for
// a job that does not fit: the highest job in claim order that needs
// more of a resource than is free holds back every job after it (lower
// priority, or the same priority and ready later) that needs any of
// that resource, so that what frees up goes to it first and it cannot
// starve; jobs after it that need none of what it lacks go on. A job
// that needs more than Total in some resource can never run on this
// host: it is left queued (for a host with more) and holds nothing
// back.
type Capacity struct {
	Free  model.Resources // Total less the needs of the running attempts
	Total model.Resources
}

// Check refuses claim parameters no backend may act on: no owner, a limit
// below 1, a negative quota. One check for every backend; each returns it
// wrapped as its ErrInvalid.
func (p ClaimParams) Check() error {
	if p.Owner == "" {
		return errors.New("claim: no owner")
	}
	if p.Limit < 1 {
		return fmt.Errorf("claim: limit %d (want at least 1)", p.Limit)
	}
	if p.AnyTask < 0 {
		return fmt.Errorf("claim: negative AnyTask %d", p.AnyTask)
	}
	if c := p.Capacity; c != nil && (c.Total.MilliCPU < 0 || c.Total.MemoryMB < 0) {
		return fmt.Errorf("claim: negative capacity %s", c.Total)
	}
	for task, n := range p.Quota {
		if n < 0 {
			return fmt.Errorf("claim: negative quota %d for task %q", n, task)
		}
	}
	for pl, n := range p.PluginQuota {
		if n < 0 {
			return fmt.Errorf("claim: negative quota %d for plugin %q", n, pl)
		}
	}
	return nil
}

// Finish is the decided outcome of one attempt (see the retry package for
// the decision). The guard is ID, Owner and Attempt.
type Finish struct {
	ID      string
	Owner   string
	Attempt int
	// State is Completed, Failed, Canceled, or Queued for a retry (then
	// RetryAt is its not-before time).
	State    model.State
	RetryAt  time.Time
	Result   json.RawMessage // Completed only
	Error    *model.JobError // the attempt's error (nil when Completed)
	At       time.Time       // when the attempt ended
	Progress *model.Progress // the last progress seen, if newer than stored
}

// ProgressUpdate is the latest progress of one running attempt.
type ProgressUpdate struct {
	ID       string
	Owner    string
	Attempt  int
	Progress model.Progress
}

// Changes is what a write changed besides its own target.
type Changes struct {
	// Jobs are the jobs whose state changed, after the change: the
	// finished ones, then dependents released (waiting → queued) or
	// canceled by a dependency's failure (with Error.Kind
	// dependency_failed naming it), transitively, in cascade order.
	Jobs []*model.Job
	// Prev holds, for each of Jobs, its state before the operation
	// (always as long as Jobs): the host tells each change as from → to.
	Prev []model.State
	// Groups are the groups whose counts or outcome changed, after.
	Groups []*model.Group
	// Stop are running jobs the change asked to stop (a group's
	// cancel-on-failure reached them): CancelRequested is set on each; the
	// host that owns one must cancel its attempt, which then finishes
	// through Finish with State Canceled.
	Stop []*model.Job
	// Skipped are the ids of finishes whose guard did not hold.
	Skipped []string
}

// RequestKind names a user's request about one job.
type RequestKind int

// The requests.
const (
	RequestCancel RequestKind = iota + 1 // any unfinished or created job
	RequestPause                         // queued, waiting or running
	RequestResume                        // paused
	RequestRetry                         // failed or canceled: again, with a fresh attempt budget
	RequestSubmit                        // created → waiting or queued
)

// Request is one Request call.
type Request struct {
	Kind RequestKind
	ID   string
	Now  time.Time
	// Why is recorded on a canceled job (nil: canceled by the user).
	Why *model.JobError
	// MaxQueued refuses, with ErrFull, a request that would leave more
	// than this many jobs queued (0: no limit).
	MaxQueued int
}

// RequestResult says what the request did and what is left to do.
type RequestResult struct {
	Job *model.Job // after the request
	// Owner is set when the job is running (or paused while running): the
	// host whose plugin process must be told (cancel: the attempt ends
	// through Finish with State Canceled; pause/resume: stop or continue
	// the process). The stored job already says what was asked.
	Owner string
	// Changes are the jobs and groups the request changed: the job itself
	// when its state changed, and others (a canceled job's dependents,
	// re-armed dependents of a retried one), each with its state before.
	Changes Changes
}

// Fire is one firing of a schedule.
type Fire struct {
	Schedule string
	// Due is the stored NextFire this firing consumes: the guard.
	Due time.Time
	// At is the nominal time fired (LastFire): Due, or a later time when
	// several passed at once.
	At   time.Time
	Next time.Time  // the NextFire to store (zero: none)
	Job  *model.Job // the job to insert, or nil for a skipped firing
	// Waiting records Job as the run queued behind an unfinished one.
	Waiting   bool
	MaxQueued int
	Now       time.Time
}

// FireResult says whether the firing was committed.
type FireResult struct {
	Fired    bool
	Schedule *model.Schedule // after
	Job      *model.Job      // as inserted, when one was
	Changes  Changes
}

// JobFilter selects jobs for ListJobs. Zero fields select everything.
type JobFilter struct {
	States     []model.State
	Task       string
	Group      string
	Priorities []model.Priority
	// Label is "key=value" or "key" (any value).
	Label string
	// Search matches id, task or error message, ignoring case.
	Search string
	// Before is the paging cursor: only ids less than it (older jobs).
	Before string
	// Limit is the page size: 1..MaxLimit, 0 meaning DefaultLimit.
	Limit int
}

// Page sizes.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// StepParams is one Step call.
type StepParams struct {
	Finish   []Finish
	Progress []ProgressUpdate
	Claim    ClaimParams // Limit 0: claim nothing
}

// StepResult is what a Step did.
type StepResult struct {
	Changes Changes // of the finishes
	Claimed []*model.Job
}

// PurgeFilter selects finished jobs for Purge. Zero fields select
// everything finished.
type PurgeFilter struct {
	// States are finished states only (completed, failed, canceled);
	// none means all three.
	States []model.State
	// Task selects one task's jobs ("": every task).
	Task string
	// FinishedBefore selects jobs that finished strictly before it
	// (zero: whenever they finished).
	FinishedBefore time.Time
	// Limit is how many jobs one call deletes at most: 1..MaxLimit.
	Limit int
}

// Check refuses a purge no backend may act on: a state that is not a
// finished one, a limit outside 1..MaxLimit. One check for every
// backend; each returns it wrapped as its ErrInvalid.
func (f PurgeFilter) Check() error {
	for _, st := range f.States {
		if !st.Terminal() {
			return fmt.Errorf("purge: state %q is not a finished state (want completed, failed or canceled)", st)
		}
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		return fmt.Errorf("purge: limit %d (want 1..%d)", f.Limit, MaxLimit)
	}
	return nil
}

// Selects reports whether f selects job j (its state, task and finish
// time; j need not be finished).
func (f PurgeFilter) Selects(j *model.Job) bool {
	if !j.State.Terminal() || (len(f.States) > 0 && !slices.Contains(f.States, j.State)) {
		return false
	}
	return (f.Task == "" || j.Task == f.Task) && (f.FinishedBefore.IsZero() || j.FinishedAt.Before(f.FinishedBefore))
}

// CheckDelete refuses a Delete no backend may act on: no ids, more than
// MaxLimit, an empty id, an id given twice. One check for every
// backend; each returns it wrapped as its ErrInvalid.
func CheckDelete(ids []string) error {
	if len(ids) == 0 {
		return errors.New("delete: no job ids")
	}
	if len(ids) > MaxLimit {
		return fmt.Errorf("delete: %d job ids (want at most %d a call)", len(ids), MaxLimit)
	}
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		if id == "" {
			return fmt.Errorf("delete: job id %d of %d is empty", i+1, len(ids))
		}
		if seen[id] {
			return fmt.Errorf("delete: job %s is named twice", id)
		}
		seen[id] = true
	}
	return nil
}
