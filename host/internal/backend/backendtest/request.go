package backendtest

import (
	"fmt"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

var requestRules = []rule{
	{"StateRules", testRequestStates},
	{"CancelRunning", testCancelRunning},
	{"PauseResumeRunning", testPauseResumeRunning},
	{"PauseResumeQueued", testPauseResumeQueued},
	{"RetryBudgetAndRearm", testRetry},
	{"Submit", testSubmit},
	{"Refusals", testRequestRefusals},
}

// jobIn makes a job in the named situation and returns its id.
func (e *env) jobIn(situation string, now float64) string {
	e.t.Helper()
	switch situation {
	case "created":
		return e.insertP(backend.InsertParams{Now: at(now), Jobs: []*model.Job{newJob()}, Hold: true})[0].ID
	case "queued":
		return e.one(at(now), withTask(taskB)).ID
	case "waiting":
		dep := e.insertP(backend.InsertParams{Now: at(now), Jobs: []*model.Job{newJob()}, Hold: true})[0]
		return e.one(at(now), dependsOn(model.DepCancel, dep.ID)).ID
	case "running", "paused-running":
		j := e.one(at(now), withTask(taskDone))
		if js := e.claimQ("host-1", 1, at(now), map[string]int{taskDone: 1}); len(js) != 1 {
			e.t.Fatalf("could not claim a job to make it %s", situation)
		}
		if situation == "paused-running" {
			e.request(backend.RequestPause, j.ID, at(now))
		}
		return j.ID
	case "paused-queued":
		id := e.one(at(now), withTask(taskB)).ID
		e.request(backend.RequestPause, id, at(now))
		return id
	case "completed", "failed", "canceled":
		return e.finished(model.State(situation), at(now)).ID
	}
	panic("unknown situation " + situation)
}

// testRequestStates: each request is allowed exactly in the states
// model.Transition allows, and lands where it must.
func testRequestStates(e *env) {
	type want struct {
		state model.State // "" means refused with ErrState
		owner bool        // RequestResult.Owner names the running host
	}
	refused := want{}
	table := map[string]map[backend.RequestKind]want{
		"created": {backend.RequestCancel: {state: model.Canceled}, backend.RequestPause: refused, backend.RequestResume: refused,
			backend.RequestRetry: refused, backend.RequestSubmit: {state: model.Queued}},
		"queued": {backend.RequestCancel: {state: model.Canceled}, backend.RequestPause: {state: model.Paused}, backend.RequestResume: refused,
			backend.RequestRetry: refused, backend.RequestSubmit: refused},
		"waiting": {backend.RequestCancel: {state: model.Canceled}, backend.RequestPause: {state: model.Paused}, backend.RequestResume: refused,
			backend.RequestRetry: refused, backend.RequestSubmit: refused},
		"running": {backend.RequestCancel: {state: model.Running, owner: true}, backend.RequestPause: {state: model.Paused, owner: true},
			backend.RequestResume: refused, backend.RequestRetry: refused, backend.RequestSubmit: refused},
		"paused-queued": {backend.RequestCancel: {state: model.Canceled}, backend.RequestPause: refused, backend.RequestResume: {state: model.Queued},
			backend.RequestRetry: refused, backend.RequestSubmit: refused},
		"paused-running": {backend.RequestCancel: {state: model.Paused, owner: true}, backend.RequestPause: refused,
			backend.RequestResume: {state: model.Running, owner: true}, backend.RequestRetry: refused, backend.RequestSubmit: refused},
		"completed": {backend.RequestCancel: refused, backend.RequestPause: refused, backend.RequestResume: refused,
			backend.RequestRetry: refused, backend.RequestSubmit: refused},
		"failed": {backend.RequestCancel: refused, backend.RequestPause: refused, backend.RequestResume: refused,
			backend.RequestRetry: {state: model.Queued}, backend.RequestSubmit: refused},
		"canceled": {backend.RequestCancel: refused, backend.RequestPause: refused, backend.RequestResume: refused,
			backend.RequestRetry: {state: model.Queued}, backend.RequestSubmit: refused},
	}
	now := 1.0
	for _, situation := range []string{"created", "queued", "waiting", "running", "paused-queued", "paused-running", "completed", "failed", "canceled"} {
		for _, kind := range []backend.RequestKind{backend.RequestCancel, backend.RequestPause, backend.RequestResume, backend.RequestRetry, backend.RequestSubmit} {
			now++
			w := table[situation][kind]
			id := e.jobIn(situation, now)
			name := fmt.Sprintf("%s of a %s job", kindName(kind), situation)
			if w.state == "" {
				e.unchanged(name, func() {
					_, err := e.s.Request(e.ctx, backend.Request{Kind: kind, ID: id, Now: at(now)})
					e.wantErr(err, backend.ErrState, name)
				})
				continue
			}
			r, err := e.s.Request(e.ctx, backend.Request{Kind: kind, ID: id, Now: at(now)})
			if err != nil {
				e.t.Errorf("%s: %v", name, err)
				continue
			}
			got := e.job(id)
			if d := diff(got, r.Job); d != "" {
				e.t.Errorf("%s: RequestResult.Job differs from the stored job (-stored +answer):\n%s", name, d)
			}
			if got.State != w.state {
				e.t.Errorf("%s: job is %s, want %s", name, got.State, w.state)
			}
			if w.owner && r.Owner != "host-1" {
				e.t.Errorf("%s: RequestResult.Owner = %q, want the running host host-1", name, r.Owner)
			}
			if !w.owner && r.Owner != "" {
				e.t.Errorf("%s: RequestResult.Owner = %q for a job not running", name, r.Owner)
			}
			if w.state == model.Queued && !got.QueuedAt.Equal(at(now)) {
				e.t.Errorf("%s: QueuedAt %v, want the request's Now %v", name, got.QueuedAt, at(now))
			}
			if w.state == model.Canceled && (got.Error == nil || got.Error.Kind != errkind.Canceled || !got.FinishedAt.Equal(at(now))) {
				e.t.Errorf("%s: error %+v finished %v; want kind canceled, finished at the request's Now", name, got.Error, got.FinishedAt)
			}
			if kind == backend.RequestPause && got.PausedFrom == "" {
				e.t.Errorf("%s: PausedFrom is empty", name)
			}
			// Leave nothing claimable behind for the next situation.
			if got.State == model.Queued {
				e.request(backend.RequestCancel, id, at(now))
			}
		}
	}
}

// testCancelRunning: a running job asked to cancel is marked and keeps
// running until its attempt ends through Finish; the reason is kept.
func testCancelRunning(e *env) {
	j := e.one(at(1))
	e.claimID(j.ID, "host-3", at(2))
	why := &model.JobError{Kind: errkind.Canceled, Message: "shutting down the batch"}
	r, err := e.s.Request(e.ctx, backend.Request{Kind: backend.RequestCancel, ID: j.ID, Now: at(3), Why: why})
	if err != nil {
		e.t.Fatalf("cancel of a running job: %v", err)
	}
	if r.Owner != "host-3" || r.Job.State != model.Running || !r.Job.CancelRequested || diff(why, r.Job.Error) != "" {
		e.t.Errorf("cancel of a running job answered owner %q, %s, cancel-requested=%v, error %+v; want host-3, running, true, the request's reason",
			r.Owner, r.Job.State, r.Job.CancelRequested, r.Job.Error)
	}
	r2, err := e.s.Request(e.ctx, backend.Request{Kind: backend.RequestCancel, ID: j.ID, Now: at(4)})
	if err != nil || r2.Owner != "host-3" {
		e.t.Errorf("a second cancel of the running job: owner %q, %v; want host-3 and no error", r2.Owner, err)
	}
	if got := e.job(j.ID); diff(why, got.Error) != "" {
		e.t.Errorf("a second cancel replaced the first's reason: %+v", got.Error)
	}
	e.end(e.job(j.ID), model.Canceled, at(5))
	got := e.wantState(j.ID, model.Canceled, "the canceled attempt's end")
	if diff(why, got.Error) != "" || got.CancelRequested {
		e.t.Errorf("canceled job: error %+v cancel-requested=%v; want the request's reason, cleared", got.Error, got.CancelRequested)
	}
	// A user's cancel without a reason is kind canceled.
	q := e.one(at(6))
	e.request(backend.RequestCancel, q.ID, at(7))
	if got := e.job(q.ID); got.Error == nil || got.Error.Kind != errkind.Canceled {
		e.t.Errorf("cancel without a reason recorded error %+v, want kind canceled", got.Error)
	}
}

// testPauseResumeRunning: pause and resume of a running job keep its
// attempt and owner and answer the owner.
func testPauseResumeRunning(e *env) {
	j := e.one(at(1))
	e.claimID(j.ID, "host-2", at(2))
	r := e.request(backend.RequestPause, j.ID, at(3))
	if r.Owner != "host-2" || r.Job.State != model.Paused || r.Job.PausedFrom != model.Running || r.Job.Owner != "host-2" {
		e.t.Errorf("pause of a running job: owner %q, %s from %q, job owner %q; want host-2, paused from running, host-2", r.Owner, r.Job.State, r.Job.PausedFrom, r.Job.Owner)
	}
	if js := e.claim("host-1", 5, at(4)); len(js) != 0 {
		e.t.Errorf("claimed %v while the only job is paused while running", ids(js))
	}
	if rs, _ := e.s.Running(e.ctx, nil); len(rs) != 1 || rs[0].ID != j.ID {
		e.t.Errorf("Running(none alive) = %v, want the job paused while running", ids(rs))
	}
	r = e.request(backend.RequestResume, j.ID, at(5))
	if r.Owner != "host-2" || r.Job.State != model.Running || r.Job.Attempt != 1 || r.Job.PausedFrom != "" {
		e.t.Errorf("resume: owner %q, %s, attempt %d, paused-from %q; want host-2, running, 1, none", r.Owner, r.Job.State, r.Job.Attempt, r.Job.PausedFrom)
	}
}

// testPauseResumeQueued: a paused job is out of dispatch; resumed, it
// goes where its dependencies now say, at the back of its priority.
func testPauseResumeQueued(e *env) {
	first := e.one(at(1))
	second := e.one(at(2))
	e.request(backend.RequestPause, first.ID, at(3))
	e.request(backend.RequestResume, first.ID, at(4))
	if js := e.claim("host-1", 1, at(5)); len(js) != 1 || js[0].ID != second.ID {
		e.t.Errorf("claim after pausing and resuming the older job took %v, want the other one %s (resume re-queues)", ids(js), second.ID)
	}
	// Paused while waiting; its dependency completes meanwhile: it stays
	// paused, and resume queues it.
	dep := e.one(at(6), withTask(taskB))
	w := e.one(at(6), dependsOn(model.DepCancel, dep.ID))
	e.request(backend.RequestPause, w.ID, at(7))
	d := e.claimQ("host-1", 1, at(8), map[string]int{taskB: 1})
	e.end(d[0], model.Completed, at(9))
	if got := e.job(w.ID); got.State != model.Paused || got.PausedFrom != model.Waiting {
		e.t.Errorf("a job paused while waiting whose dependency completed: %s from %q, want paused from waiting", got.State, got.PausedFrom)
	}
	e.request(backend.RequestResume, w.ID, at(10))
	e.wantState(w.ID, model.Queued, "resume of a job whose dependencies finished while it was paused")
	// Paused while waiting; its dependency fails: canceled at once.
	dep2 := e.one(at(11), withTask(taskB))
	w2 := e.one(at(11), dependsOn(model.DepCancel, dep2.ID))
	e.request(backend.RequestPause, w2.ID, at(12))
	d = e.claimQ("host-1", 1, at(12), map[string]int{taskB: 1})
	e.end(d[0], model.Failed, at(13))
	e.wantCancelBy(w2.ID, dep2.ID, "a job paused while waiting whose dependency failed")
}

// testRetry: retry gives a fresh attempt budget and re-arms, transitively,
// the jobs the failure canceled (and only those).
func testRetry(e *env) {
	a := e.one(at(1), withTask(taskB), func(j *model.Job) { j.MaxAttempts = 1 })
	b := e.one(at(1), dependsOn(model.DepCancel, a.ID))
	c := e.one(at(1), dependsOn(model.DepCancel, b.ID))
	ign := e.one(at(1), dependsOn(model.DepIgnore, a.ID))
	other := e.one(at(1), withTask(taskB))
	d := e.one(at(1), dependsOn(model.DepCancel, other.ID))
	user := e.one(at(1), dependsOn(model.DepCancel, a.ID))
	e.request(backend.RequestCancel, user.ID, at(2))

	ra := e.claimQ("host-1", 1, at(3), map[string]int{taskB: 1})[0]
	e.end(ra, model.Failed, at(4))
	e.wantCancelBy(b.ID, a.ID, "dependent of the failed job")
	e.wantCancelBy(c.ID, b.ID, "dependent of the canceled dependent")
	e.wantState(ign.ID, model.Queued, "ignore-policy dependent of the failed job")
	ro := e.claimQ("host-1", 1, at(5), map[string]int{taskB: 1})[0]
	e.end(ro, model.Failed, at(6))
	e.wantCancelBy(d.ID, other.ID, "dependent of another failed job")

	r := e.request(backend.RequestRetry, a.ID, at(7))
	got := e.wantState(a.ID, model.Queued, "retried job")
	if got.AttemptBase != 1 || got.AttemptsLeft() != 1 || got.Error != nil || got.Result != nil || !got.FinishedAt.IsZero() || !got.QueuedAt.Equal(at(7)) {
		e.t.Errorf("retried job: attempt base %d, left %d, error %+v, finished %v, queued %v; want base 1, 1 left, no error, not finished, queued at %v",
			got.AttemptBase, got.AttemptsLeft(), got.Error, got.FinishedAt, got.QueuedAt, at(7))
	}
	e.wantState(b.ID, model.Waiting, "dependent re-armed by the retry")
	e.wantState(c.ID, model.Waiting, "dependent of the dependent, re-armed transitively")
	e.wantState(d.ID, model.Canceled, "a job canceled by another dependency")
	e.wantState(user.ID, model.Canceled, "a dependent the user canceled")
	e.wantState(ign.ID, model.Queued, "an ignore-policy dependent that was already queued")
	for _, id := range []string{b.ID, c.ID} {
		found := false
		for _, j := range r.Changes.Jobs {
			found = found || (j.ID == id && j.State == model.Waiting)
		}
		if !found {
			e.t.Errorf("retry's Changes.Jobs %v lacks re-armed job %s", ids(r.Changes.Jobs), id)
		}
	}
	// The re-armed chain runs when the retried job completes.
	ra = e.claimQ("host-1", 1, at(8), map[string]int{taskB: 1})[0]
	if ra.ID != a.ID || ra.Attempt != 2 {
		e.t.Fatalf("claim after retry took %s attempt %d, want %s attempt 2", ra.ID, ra.Attempt, a.ID)
	}
	e.end(ra, model.Completed, at(9))
	e.wantState(b.ID, model.Queued, "re-armed dependent after the retried job completed")
}

// testSubmit: a created job is placed by submit as Insert would place it.
func testSubmit(e *env) {
	dep := e.one(at(1), withTask(taskB))
	held := e.insertP(backend.InsertParams{Now: at(2), Hold: true, Jobs: []*model.Job{
		newJob(), newJob(dependsOn(model.DepCancel, dep.ID)), newJob(dependsOn(model.DepCancel, dep.ID)),
	}})
	e.request(backend.RequestSubmit, held[0].ID, at(3))
	e.wantState(held[0].ID, model.Queued, "submit of a created job without dependencies")
	e.request(backend.RequestSubmit, held[1].ID, at(3))
	e.wantState(held[1].ID, model.Waiting, "submit of a created job with an unfinished dependency")
	d := e.claimQ("host-1", 1, at(4), map[string]int{taskB: 1})[0]
	e.end(d, model.Failed, at(5))
	e.wantState(held[2].ID, model.Created, "a created job whose dependency failed (nothing happens until submit)")
	e.request(backend.RequestSubmit, held[2].ID, at(6))
	e.wantCancelBy(held[2].ID, dep.ID, "submit of a created job whose dependency failed")
}

// testRequestRefusals: a request without id or of an unknown kind is
// ErrInvalid; of an unknown job ErrNotFound.
func testRequestRefusals(e *env) {
	j := e.one(at(1))
	for _, tc := range []struct {
		name string
		r    backend.Request
		want error
	}{
		{"no id", backend.Request{Kind: backend.RequestCancel, Now: at(2)}, backend.ErrInvalid},
		{"kind 0", backend.Request{ID: j.ID, Now: at(2)}, backend.ErrInvalid},
		{"kind 99", backend.Request{Kind: 99, ID: j.ID, Now: at(2)}, backend.ErrInvalid},
		{"an unknown job", backend.Request{Kind: backend.RequestCancel, ID: newID(), Now: at(2)}, backend.ErrNotFound},
	} {
		e.unchanged("Request with "+tc.name, func() {
			_, err := e.s.Request(e.ctx, tc.r)
			e.wantErr(err, tc.want, "Request with "+tc.name)
		})
	}
}
