package backendtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

// env is one rule's store and the helpers its checks read well with.
// Helpers fail the test at once when the store answers an error the rule
// did not ask for.
type env struct {
	t   *testing.T
	h   Harness
	s   backend.Store
	ctx context.Context
}

func newEnv(t *testing.T, h Harness) *env {
	return &env{t: t, h: h, s: h.Open(t), ctx: context.Background()}
}

// T0 is the suite's epoch. Every time the suite hands a store is T0 plus
// whole microseconds, in UTC, so that a store keeping microseconds (as
// PostgreSQL does) gives back exactly what it was given.
var T0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at is T0 plus sec seconds.
func at(sec float64) time.Time {
	return T0.Add(time.Duration(sec * float64(time.Second))).Truncate(time.Microsecond)
}

var idCounter atomic.Uint64

var idPrefix = uint64(time.Now().UnixMilli())

// newID returns a fresh id shaped like the engine's (a canonical
// lower-case UUID, version 7), greater than every id returned before it
// in this process, so that "newest first" is the order of creation.
func newID() string {
	n := idCounter.Add(1)
	return fmt.Sprintf("%08x-%04x-7%03x-8%03x-%012x",
		idPrefix>>16, idPrefix&0xffff, (n>>48)&0xfff, (n>>36)&0xfff, n&0xffffffffffff)
}

// Tasks the suite's jobs run.
const (
	taskA = "alpha.run"
	taskB = "beta.run"
	// taskDone is the task of the jobs the helper finished runs to an
	// end; no rule claims it otherwise.
	taskDone = "gamma.run"
)

// allTasks is a claim quota that lets every job of the suite's tasks run.
func allTasks() map[string]int { return map[string]int{taskA: 1000, taskB: 1000} }

// newJob is a job record as the engine builds one, before the store
// places it.
func newJob(mods ...func(*model.Job)) *model.Job {
	j := &model.Job{ID: newID(), Task: taskA, MaxAttempts: 3, CreatedAt: T0,
		Backoff: model.Backoff{Initial: time.Second, Max: time.Minute, Multiplier: 2}}
	for _, m := range mods {
		m(j)
	}
	return j
}

func dependsOn(p model.DepPolicy, ids ...string) func(*model.Job) {
	return func(j *model.Job) {
		for _, id := range ids {
			j.DependsOn = append(j.DependsOn, model.Dep{ID: id, Policy: p})
		}
	}
}

func withPriority(p model.Priority) func(*model.Job) { return func(j *model.Job) { j.Priority = p } }
func withTask(task string) func(*model.Job)          { return func(j *model.Job) { j.Task = task } }
func inGroup(g string) func(*model.Job)              { return func(j *model.Job) { j.Group = g } }
func withKey(k string) func(*model.Job)              { return func(j *model.Job) { j.Key = k } }
func runAt(t time.Time) func(*model.Job)             { return func(j *model.Job) { j.RunAt = t } }

func newGroup(seq, cancelOnFailure bool) *model.Group {
	return &model.Group{ID: newID(), Name: "g", Sequential: seq, CancelOnFailure: cancelOnFailure, CreatedAt: T0}
}

// insert stores jobs (not held) at now and returns them as stored.
func (e *env) insert(now time.Time, jobs ...*model.Job) []*model.Job {
	e.t.Helper()
	return e.insertP(backend.InsertParams{Now: now, Jobs: jobs})
}

func (e *env) insertP(p backend.InsertParams) []*model.Job {
	e.t.Helper()
	res, err := e.s.Insert(e.ctx, p)
	if err != nil {
		e.t.Fatalf("Insert: %v", err)
	}
	ins := res.Jobs
	if len(ins) != len(p.Jobs) {
		e.t.Fatalf("Insert of %d jobs answered %d entries", len(p.Jobs), len(ins))
	}
	out := make([]*model.Job, len(ins))
	for i, in := range ins {
		out[i] = in.Job
	}
	return out
}

// one inserts one job at now and returns it as stored.
func (e *env) one(now time.Time, mods ...func(*model.Job)) *model.Job {
	e.t.Helper()
	return e.insert(now, newJob(mods...))[0]
}

// groups stores new groups.
func (e *env) groups(gs ...*model.Group) {
	e.t.Helper()
	if _, err := e.s.Insert(e.ctx, backend.InsertParams{Now: T0, Groups: gs}); err != nil {
		e.t.Fatalf("Insert of groups: %v", err)
	}
}

func (e *env) claim(owner string, limit int, now time.Time) []*model.Job {
	e.t.Helper()
	return e.claimQ(owner, limit, now, allTasks())
}

func (e *env) claimQ(owner string, limit int, now time.Time, quota map[string]int) []*model.Job {
	e.t.Helper()
	js, err := e.s.Claim(e.ctx, backend.ClaimParams{Owner: owner, Limit: limit, Now: now, Quota: quota})
	if err != nil {
		e.t.Fatalf("Claim: %v", err)
	}
	return js
}

// claimID claims until it has claimed job id, which must be claimable
// first (the rule tests keep one claimable job at a time).
func (e *env) claimID(id, owner string, now time.Time) *model.Job {
	e.t.Helper()
	js := e.claim(owner, 1, now)
	if len(js) != 1 || js[0].ID != id {
		e.t.Fatalf("Claim at %s claimed %v, want job %s", now.Format(time.RFC3339), ids(js), id)
	}
	return js[0]
}

func (e *env) finish(fs ...backend.Finish) backend.Changes {
	e.t.Helper()
	before := map[string]model.State{}
	for _, f := range fs {
		if j, err := e.s.Job(e.ctx, f.ID); err == nil {
			before[f.ID] = j.State
		}
	}
	c, err := e.s.Finish(e.ctx, fs)
	if err != nil {
		e.t.Fatalf("Finish: %v", err)
	}
	e.wantPrev("Finish", c, before)
	return c
}

// wantPrev checks a write's Changes: a state before each job changed,
// and, for the jobs whose states the caller knew (before), that state.
// The host tells its watchers each change as from → to from these.
func (e *env) wantPrev(what string, c backend.Changes, before map[string]model.State) {
	e.t.Helper()
	if len(c.Prev) != len(c.Jobs) {
		e.t.Fatalf("%s: Changes has %d jobs and %d previous states", what, len(c.Jobs), len(c.Prev))
	}
	for i, j := range c.Jobs {
		if b, ok := before[j.ID]; ok && c.Prev[i] != b {
			e.t.Errorf("%s: Changes says job %s was %s before, it was %s", what, j.ID, c.Prev[i], b)
		}
	}
}

// end finishes the running attempt of j with state st at now.
func (e *env) end(j *model.Job, st model.State, now time.Time) backend.Changes {
	e.t.Helper()
	f := backend.Finish{ID: j.ID, Owner: j.Owner, Attempt: j.Attempt, State: st, At: now}
	switch st {
	case model.Completed:
		f.Result = []byte(`{"ok":true}`)
	case model.Queued:
		f.Error = &model.JobError{Kind: errkind.TaskError, Message: "try again", Retryable: true}
	case model.Failed:
		f.Error = &model.JobError{Kind: errkind.TaskError, Message: "it broke"}
	case model.Canceled:
		f.Error = &model.JobError{Kind: errkind.Canceled, Message: "stopped"}
	}
	c := e.finish(f)
	if len(c.Skipped) > 0 {
		e.t.Fatalf("Finish of running job %s as %s was skipped", j.ID, st)
	}
	return c
}

// finished returns a job, inserted and run at now, that ended in state st
// (completed, failed or canceled after an attempt). Its task is taskDone
// unless mods set another, of which no other job may then be claimable.
func (e *env) finished(st model.State, now time.Time, mods ...func(*model.Job)) *model.Job {
	e.t.Helper()
	j := e.one(now, append([]func(*model.Job){withTask(taskDone)}, mods...)...)
	js := e.claimQ("host-1", 1, now, map[string]int{j.Task: 1})
	if len(js) != 1 || js[0].ID != j.ID {
		e.t.Fatalf("Claim of %s's task at %s claimed %v, want job %s", j.Task, now.Format(time.RFC3339), ids(js), j.ID)
	}
	e.end(js[0], st, now)
	return e.job(j.ID)
}

func (e *env) request(kind backend.RequestKind, id string, now time.Time) backend.RequestResult {
	e.t.Helper()
	var before model.State
	if j, err := e.s.Job(e.ctx, id); err == nil {
		before = j.State
	}
	r, err := e.s.Request(e.ctx, backend.Request{Kind: kind, ID: id, Now: now})
	if err != nil {
		e.t.Fatalf("Request %s of %s: %v", kindName(kind), id, err)
	}
	what := "Request " + kindName(kind) + " of " + id
	e.wantPrev(what, r.Changes, map[string]model.State{id: before})
	// The request's own job is among the changes when its state changed:
	// the host tells its watchers from them.
	if r.Job.State != before && !slices.ContainsFunc(r.Changes.Jobs, func(j *model.Job) bool { return j.ID == id }) {
		e.t.Errorf("%s: the job went from %s to %s but is not in Changes.Jobs %v", what, before, r.Job.State, ids(r.Changes.Jobs))
	}
	return r
}

func kindName(k backend.RequestKind) string {
	switch k {
	case backend.RequestCancel:
		return "cancel"
	case backend.RequestPause:
		return "pause"
	case backend.RequestResume:
		return "resume"
	case backend.RequestRetry:
		return "retry"
	case backend.RequestSubmit:
		return "submit"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

func (e *env) oldest(now time.Time) map[model.Priority]time.Time {
	e.t.Helper()
	got, err := e.s.OldestReady(e.ctx, now)
	if err != nil {
		e.t.Fatalf("OldestReady: %v", err)
	}
	return got
}

func (e *env) job(id string) *model.Job {
	e.t.Helper()
	j, err := e.s.Job(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Job %s: %v", id, err)
	}
	return j
}

func (e *env) group(id string) *model.Group {
	e.t.Helper()
	g, err := e.s.Group(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Group %s: %v", id, err)
	}
	return g
}

// wantState checks the stored state of job id.
func (e *env) wantState(id string, want model.State, why string) *model.Job {
	e.t.Helper()
	j := e.job(id)
	if j.State != want {
		e.t.Errorf("%s: job %s is %s, want %s", why, id, j.State, want)
	}
	return j
}

// wantErr checks that err matches sentinel.
func (e *env) wantErr(err, sentinel error, what string) {
	e.t.Helper()
	if !errors.Is(err, sentinel) {
		e.t.Errorf("%s: got error %v, want one matching %q", what, err, sentinel)
	}
}

// wantCancelBy checks that job id was canceled because dep ended badly.
func (e *env) wantCancelBy(id, dep string, why string) {
	e.t.Helper()
	j := e.wantState(id, model.Canceled, why)
	if j.Error == nil || j.Error.Kind != errkind.DependencyFailed || j.Error.Dependency != dep {
		e.t.Errorf("%s: job %s has error %+v, want kind dependency_failed naming %s", why, id, j.Error, dep)
	}
}

// unchanged runs fn, which must change nothing, and checks that it did
// not.
func (e *env) unchanged(what string, fn func()) {
	e.t.Helper()
	before := dump(e.t, e.s)
	fn()
	if d := diffDumps(before, dump(e.t, e.s)); d != "" {
		e.t.Errorf("%s changed the store (-before +after):\n%s", what, d)
	}
}

// reopen closes and reopens the store, when the backend can.
func (e *env) reopen() bool {
	if e.h.Reopen == nil {
		return false
	}
	e.s = e.h.Reopen(e.t, e.s)
	return true
}

func ids(js []*model.Job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}

func depIDs(ds []model.Dep) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}
