// Package backend is the store port: the queue's rules as conditional,
// claim-style operations in neutral types (the model package), so that the
// store, not the engine's memory, is the queue's source of truth.
//
// The engine asks; the store decides what a request means for the stored
// queue and answers with what changed. Every write is one transaction,
// durable before it returns. Operations that act on a running attempt are
// guarded by "still running, this owner, this attempt", so a host that
// lost its claim (killed, partitioned, rescued by another) cannot overwrite
// the newer truth: its write is skipped, not applied.
//
// Two backends implement it: the embedded bbolt file (one host owns it)
// and PostgreSQL (several hosts share one queue). Both must pass
// backendtest.Run.
package backend

import (
	"context"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

// Store is the port. Methods are safe for concurrent use.
type Store interface {
	Writer
	Reader
	Membership

	// Changed is signalled (non-blocking, coalesced) after a commit that
	// made work claimable or asked something of a running attempt (a
	// cancel, pause or resume request), by this host or, for a shared
	// backend, by another. The engine waits on it instead of polling.
	Changed() <-chan struct{}

	// Close releases the store; later calls fail with ErrClosed.
	Close() error
}

// Writer holds the operations that change the queue. Each is one
// transaction: on error nothing was changed.
type Writer interface {
	// Insert stores new jobs (and the groups they create) and decides where
	// each belongs: queued, waiting for unfinished dependencies, canceled
	// because a dependency already failed under the cancel policy, or
	// created when held. A job whose idempotency key is already stored is
	// not inserted: the stored job is returned with Existing set.
	// With p.Claim set, it then claims in the same transaction (so an idle
	// host starts a submitted job after one commit, not two).
	Insert(ctx context.Context, p InsertParams) (InsertResult, error)

	// Claim moves up to p.Limit claimable jobs to running for p.Owner, in
	// strict priority order then by the time each became ready (FIFO),
	// among the tasks p.Quota allows. A job is claimable when queued and
	// its RunAt (not-before) is not after p.Now. "Became ready" is
	// max(QueuedAt, RunAt), QueuedAt being stamped whenever the job enters
	// queued (inserted, released by its dependencies, retried, resumed);
	// ties go in the order the store made the jobs ready. Each claimed job
	// is running, Owner = p.Owner, Attempt incremented, StartedAt = p.Now,
	// with a new AttemptRecord; RunAt and Progress (the previous
	// attempt's) are cleared.
	Claim(ctx context.Context, p ClaimParams) ([]*model.Job, error)

	// Finish ends attempts in one transaction, each guarded by "running
	// (or paused while running), owned by f.Owner, at attempt f.Attempt";
	// a finish whose guard does not hold is skipped and its id reported in
	// Changes.Skipped. Dependents released or canceled by the outcomes
	// (transitively) and groups whose counts changed are in the Changes.
	// Every end clears Owner and CancelRequested; a completion makes the
	// progress whole (fraction 1, the message kept); a cancel requested
	// before the finish turns a retry or a failure into Canceled (with the
	// request's error), since the user asked first. Times come from f.At,
	// as every stamp of the port comes from the call, never the store's
	// clock.
	Finish(ctx context.Context, fs []Finish) (Changes, error)

	// Step is one round of a host's loop in one transaction: finish
	// attempts (as Finish), record progress (as Progress), then claim (as
	// Claim; the slots the finishes free may be counted in its Limit).
	Step(ctx context.Context, p StepParams) (StepResult, error)

	// Progress records the progress of running attempts, guarded like
	// Finish; updates whose guard fails are dropped silently (the attempt
	// was rescued or ended).
	Progress(ctx context.Context, ps []ProgressUpdate) error

	// Request applies a user's request to one job (cancel, pause, resume,
	// retry, submit a created job) and says what the engine must still do:
	// when the job is running, the owner whose process must be reached.
	Request(ctx context.Context, r Request) (RequestResult, error)

	// AddDependencies makes a created, waiting or queued job also wait for
	// deps; refused with ErrConflict if that closes a cycle.
	AddDependencies(ctx context.Context, id string, deps []model.Dep, now time.Time) (Changes, error)

	// AddToGroup adds created jobs that are in no group to an existing
	// group, in the order given, all or none (ErrState for a job in
	// another state or group, as the engine has always refused them); in a
	// sequential group each new member waits for the one before.
	AddToGroup(ctx context.Context, group string, ids []string, now time.Time) (Changes, error)

	// PutSchedule stores a new or changed schedule; DeleteSchedule removes
	// one (its jobs stay).
	PutSchedule(ctx context.Context, s *model.Schedule) error
	DeleteSchedule(ctx context.Context, id string) error

	// Fire commits one firing of a schedule: guarded by the schedule's
	// stored NextFire equal to f.At, so a fire time is committed at most
	// once however many hosts try; the job (if any) is inserted in the same
	// transaction. Fired is false when the guard failed.
	Fire(ctx context.Context, f Fire) (FireResult, error)

	// Prune deletes up to limit finished jobs that finished before the
	// given time, their edges, keys and group memberships, and groups left
	// empty and done; it returns the ids deleted (for their logs).
	Prune(ctx context.Context, before time.Time, limit int) ([]string, error)

	// Delete deletes finished jobs (completed, failed or canceled) a user
	// named, all or none: an id not stored is ErrNotFound naming it, a
	// job not finished is ErrState naming it and its state, an empty,
	// repeated or surplus id (see CheckDelete) is ErrInvalid; on any
	// error nothing is deleted. The first offending id, in the order
	// given, is the one reported. With each job go what Prune takes with
	// it, and a group left empty and done goes as Prune deletes one. It
	// answers the ids deleted (all of them, in the order given), for
	// their logs.
	//
	// A deleted job is what a pruned one is to the jobs that remain: a
	// dependent keeps the dependency in its DependsOn and counts it as
	// completed whenever it is placed later (submit, resume, retry);
	// Dependents of it is empty. Deleting changes no other job's state (a
	// finished dependency blocks nothing already). Its group keeps Size
	// and Counts (the group's history, as after a prune) and Last, so
	// that a group's outcome does not change when members are deleted;
	// Members no longer lists it.
	Delete(ctx context.Context, ids []string) ([]string, error)

	// Purge deletes, as Delete does, up to f.Limit finished jobs that
	// f selects, oldest first (by FinishedAt, then id), in one
	// transaction, and answers their ids in that order (none is not an
	// error). A caller that wants all loops until an answer holds fewer
	// than f.Limit; a shared backend skips, rather than waits for, jobs
	// a concurrent write holds, which that write is changing or
	// deleting. See PurgeFilter.Check for what is refused.
	Purge(ctx context.Context, f PurgeFilter) ([]string, error)
}

// Reader holds point reads, paged lists and counts.
type Reader interface {
	Job(ctx context.Context, id string) (*model.Job, error)
	// JobByKey returns the id stored under an idempotency key.
	JobByKey(ctx context.Context, key string) (string, error)
	// ListJobs returns one page, newest first, and the cursor of the next
	// page ("" after the last).
	ListJobs(ctx context.Context, f JobFilter) ([]*model.Job, string, error)
	// Running returns the running (and paused-while-running) jobs whose
	// owner is not in alive: the attempts to rescue. A bbolt host passes
	// its own owner id; every earlier owner of the file is gone.
	Running(ctx context.Context, alive []string) ([]*model.Job, error)
	// NextRunAt is the earliest not-before time of a queued job that is
	// not yet claimable, or zero: when the engine should look again.
	NextRunAt(ctx context.Context, now time.Time) (time.Time, error)
	// OldestReady is, per priority, when the claimable job (queued, its
	// RunAt not after now) that has waited longest became ready:
	// max(QueuedAt, RunAt). A priority without one is absent. Dashboards
	// and metrics read it (the age of a queue's oldest work).
	OldestReady(ctx context.Context, now time.Time) (map[model.Priority]time.Time, error)

	Group(ctx context.Context, id string) (*model.Group, error)
	ListGroups(ctx context.Context, before string, limit int) ([]*model.Group, string, error)
	Members(ctx context.Context, group string) ([]string, error)
	Dependents(ctx context.Context, id string) ([]model.Dep, error)

	Schedules(ctx context.Context) ([]*model.Schedule, error)
	Schedule(ctx context.Context, id string) (*model.Schedule, error)

	// Counts is the number of stored jobs in each state and priority.
	Counts(ctx context.Context) (Counts, error)
}

// Counts is the number of stored jobs by state, then priority.
type Counts map[model.State]map[model.Priority]int

// ByState sums over priorities.
func (c Counts) ByState() map[model.State]int {
	m := make(map[model.State]int, len(c))
	for st, byp := range c {
		for _, n := range byp {
			m[st] += n
		}
	}
	return m
}
