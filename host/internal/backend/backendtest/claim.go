package backendtest

import (
	"slices"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

var claimRules = []rule{
	{"Order", testClaimOrder},
	{"RunAtAndNextRunAt", testClaimRunAt},
	{"Quota", testClaimQuota},
	{"Record", testClaimRecord},
	{"Applied", testClaimApplied},
	{"Refusals", testClaimRefusals},
}

// testClaimOrder: strict priority, then the time each job became ready
// (max(QueuedAt, RunAt)), then the order the store made them ready.
func testClaimOrder(e *env) {
	lowOld := e.one(at(1), withPriority(model.Low))
	normLate := e.one(at(5))
	// Three jobs made ready at one instant, in one call: their order is
	// the call's.
	same := e.insert(at(3), newJob(), newJob(), newJob())
	// Ready at 2 by its run-at although queued at 1.
	normDelayed := e.one(at(1), runAt(at(2)))
	// Queued at 4, with a run-at in the past: ready at 4.
	normPast := e.one(at(4), runAt(at(0)))
	crit := e.one(at(6), withPriority(model.Critical))
	high := e.one(at(6), withPriority(model.High))
	// Same instant as the call of three, in a later call: after them.
	sameLater := e.one(at(3))

	want := []string{crit.ID, high.ID, normDelayed.ID, same[0].ID, same[1].ID, same[2].ID, sameLater.ID, normPast.ID, normLate.ID, lowOld.ID}
	var got []string
	for len(got) < len(want) {
		js := e.claim("host-1", 3, at(10))
		if len(js) == 0 {
			break
		}
		got = append(got, ids(js)...)
	}
	if !slices.Equal(got, want) {
		e.t.Errorf("claims in batches of 3 took\n %v\nwant (critical, high, then normal by ready time and ready order, then low)\n %v", got, want)
	}
	if js := e.claim("host-1", 3, at(10)); len(js) != 0 {
		e.t.Errorf("a claim after every job was claimed took %v", ids(js))
	}
}

// testClaimRunAt: a job whose run-at is after Now is not claimable;
// NextRunAt says when to look again.
func testClaimRunAt(e *env) {
	later := e.one(at(1), runAt(at(100)))
	sooner := e.one(at(1), runAt(at(50)), withPriority(model.Critical))
	if t, err := e.s.NextRunAt(e.ctx, at(10)); err != nil || !t.Equal(at(50)) {
		e.t.Errorf("NextRunAt(10s) = %v, %v; want the earliest run-at in the future, %v", t, err, at(50))
	}
	if js := e.claim("host-1", 5, at(10)); len(js) != 0 {
		e.t.Errorf("claim at 10s took %v, whose run-at is later", ids(js))
	}
	e.claimID(sooner.ID, "host-1", at(50))
	if t, _ := e.s.NextRunAt(e.ctx, at(50)); !t.Equal(at(100)) {
		e.t.Errorf("NextRunAt(50s) after claiming the 50s job = %v, want %v", t, at(100))
	}
	e.claimID(later.ID, "host-1", at(100))
	if t, _ := e.s.NextRunAt(e.ctx, at(100)); !t.IsZero() {
		e.t.Errorf("NextRunAt with nothing delayed = %v, want zero", t)
	}
	// A paused delayed job is not queued: NextRunAt ignores it.
	p := e.one(at(101), runAt(at(200)))
	e.request(backend.RequestPause, p.ID, at(101))
	if t, _ := e.s.NextRunAt(e.ctx, at(101)); !t.IsZero() {
		e.t.Errorf("NextRunAt with only a paused delayed job = %v, want zero", t)
	}
}

// testClaimQuota: only tasks in the quota, at most their quota each, at
// most Limit in all; a task over its quota does not block the others.
func testClaimQuota(e *env) {
	a1 := e.one(at(1), withTask(taskA), withPriority(model.High))
	a2 := e.one(at(2), withTask(taskA), withPriority(model.High))
	b1 := e.one(at(3), withTask(taskB))
	b2 := e.one(at(4), withTask(taskB))
	b3 := e.one(at(5), withTask(taskB))
	got := e.claimQ("host-1", 10, at(10), map[string]int{taskA: 1, taskB: 2})
	if want := []string{a1.ID, b1.ID, b2.ID}; !slices.Equal(ids(got), want) {
		e.t.Errorf("claim with quota alpha 1, beta 2 took %v, want %v", ids(got), want)
	}
	got = e.claimQ("host-1", 10, at(10), map[string]int{taskB: 5})
	if want := []string{b3.ID}; !slices.Equal(ids(got), want) {
		e.t.Errorf("claim with quota beta only took %v, want %v (alpha is absent from the quota)", ids(got), want)
	}
	if got = e.claimQ("host-1", 10, at(10), nil); len(got) != 0 {
		e.t.Errorf("claim with no quota took %v", ids(got))
	}
	if got = e.claimQ("host-1", 10, at(10), map[string]int{taskA: 0}); len(got) != 0 {
		e.t.Errorf("claim with quota 0 took %v", ids(got))
	}
	got = e.claimQ("host-1", 1, at(10), allTasks())
	if want := []string{a2.ID}; !slices.Equal(ids(got), want) {
		e.t.Errorf("claim with limit 1 took %v, want %v", ids(got), want)
	}
}

// testClaimRecord: a claim records the owner, the attempt, its start,
// and clears the run-at and progress of the previous attempt.
func testClaimRecord(e *env) {
	g := newGroup(false, false)
	e.groups(g)
	j := e.one(at(1), inGroup(g.ID), runAt(at(2)))
	c := e.claimID(j.ID, "host-7", at(3))
	if d := diff(c, e.job(j.ID)); d != "" {
		e.t.Errorf("Claim answered a job that differs from the stored one (-answer +stored):\n%s", d)
	}
	if c.State != model.Running || c.Owner != "host-7" || c.Attempt != 1 || !c.StartedAt.Equal(at(3)) || !c.RunAt.IsZero() {
		e.t.Errorf("claimed job: state %s owner %q attempt %d started %v run-at %v; want running, host-7, 1, %v, zero",
			c.State, c.Owner, c.Attempt, c.StartedAt, c.RunAt, at(3))
	}
	if want := []model.AttemptRecord{{Attempt: 1, StartedAt: at(3), Owner: "host-7"}}; diff(want, c.Attempts) != "" {
		e.t.Errorf("attempt records after the first claim:\n%s", diff(want, c.Attempts))
	}
	if n := e.group(g.ID).Counts[model.Running]; n != 1 {
		e.t.Errorf("group counts after the claim: %d running, want 1", n)
	}
	// A retried job's next claim: attempt 2, a second record, progress reset.
	e.finish(backend.Finish{ID: j.ID, Owner: "host-7", Attempt: 1, State: model.Queued, At: at(4), RetryAt: at(5),
		Progress: &model.Progress{Fraction: 0.5, Message: "half"}, Error: &model.JobError{Kind: "task_error", Message: "again", Retryable: true}})
	c = e.claimID(j.ID, "host-8", at(6))
	if c.Attempt != 2 || len(c.Attempts) != 2 || c.Attempts[1].Attempt != 2 || !c.Attempts[1].StartedAt.Equal(at(6)) || c.Attempts[1].Owner != "host-8" || c.Owner != "host-8" {
		e.t.Errorf("second claim: attempt %d, records %+v, owner %q; want attempt 2 with a second record started at %v by host-8, owner host-8", c.Attempt, c.Attempts, c.Owner, at(6))
	}
	if c.Progress != (model.Progress{}) {
		e.t.Errorf("second claim kept the previous attempt's progress %+v", c.Progress)
	}
}

// testClaimRefusals: a claim without owner or with a limit below 1 is
// refused and changes nothing.
func testClaimRefusals(e *env) {
	e.one(at(1))
	for _, tc := range []struct {
		name string
		p    backend.ClaimParams
	}{
		{"no owner", backend.ClaimParams{Limit: 1, Now: at(2), Quota: allTasks()}},
		{"limit 0", backend.ClaimParams{Owner: "h", Now: at(2), Quota: allTasks()}},
		{"negative limit", backend.ClaimParams{Owner: "h", Limit: -1, Now: at(2), Quota: allTasks()}},
		{"negative quota", backend.ClaimParams{Owner: "h", Limit: 1, Now: at(2), Quota: map[string]int{taskA: -1}}},
	} {
		e.unchanged("Claim with "+tc.name, func() {
			_, err := e.s.Claim(e.ctx, tc.p)
			e.wantErr(err, backend.ErrInvalid, "Claim with "+tc.name)
		})
	}
}

// testClaimApplied: a claim's Applied is called at most once, before the
// claim returns, with the jobs the claim answers; a claim that finds
// nothing hands over nothing.
func testClaimApplied(e *env) {
	a, b := e.one(at(1)), e.one(at(2))
	e.one(at(3))
	var calls [][]*model.Job
	js, err := e.s.Claim(e.ctx, backend.ClaimParams{Owner: "host-1", Limit: 2, Now: at(4), Quota: allTasks(),
		Applied: func(js []*model.Job) { calls = append(calls, cloneJobs(js)) }})
	if err != nil {
		e.t.Fatalf("Claim: %v", err)
	}
	if len(js) != 2 || js[0].ID != a.ID || js[1].ID != b.ID {
		e.t.Fatalf("Claim answered %d jobs, want %s and %s", len(js), a.ID, b.ID)
	}
	if err := checkApplied(calls, js); err != nil {
		e.t.Error(err)
	}
	for _, j := range js {
		if d := diff(j, e.job(j.ID)); d != "" {
			e.t.Errorf("job %s stored differs from the one claimed (-claimed +stored):\n%s", j.ID, d)
		}
	}
	calls = nil
	js, err = e.s.Claim(e.ctx, backend.ClaimParams{Owner: "host-1", Limit: 2, Now: at(4), Quota: map[string]int{"no.such": 2},
		Applied: func(js []*model.Job) { calls = append(calls, cloneJobs(js)) }})
	if err != nil || len(js) != 0 {
		e.t.Fatalf("Claim of a task with no jobs: %d jobs, %v", len(js), err)
	}
	if err := checkApplied(calls, js); err != nil {
		e.t.Error(err)
	}
}
