package backendtest

import (
	"encoding/json"
	"slices"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

var finishRules = []rule{
	{"Outcomes", testFinishOutcomes},
	{"Guard", testFinishGuard},
	{"RescueFencesLateFinish", testRescueFencing},
	{"PausedWhileRunning", testFinishPaused},
	{"CancelRequestedWins", testFinishCancelRequested},
	{"Progress", testProgress},
	{"Refusals", testFinishRefusals},
}

// testFinishOutcomes: each outcome ends the attempt's record, clears the
// owner, and sets what it must.
func testFinishOutcomes(e *env) {
	taskErr := &model.JobError{Kind: errkind.TaskError, Message: "no luck", Retryable: true}
	tests := []struct {
		state   model.State
		retryAt float64
	}{
		{state: model.Completed},
		{state: model.Failed},
		{state: model.Canceled},
		{state: model.Queued, retryAt: 30},
		{state: model.Queued},
	}
	for _, tc := range tests {
		j := e.one(at(1))
		r := e.claimID(j.ID, "host-1", at(2))
		f := backend.Finish{ID: j.ID, Owner: "host-1", Attempt: 1, State: tc.state, At: at(3),
			Progress: &model.Progress{Fraction: 0.75, Message: "most"}}
		if tc.state == model.Completed {
			f.Result = json.RawMessage(`{"pages":3}`)
		} else {
			f.Error = taskErr
		}
		if tc.retryAt > 0 {
			f.RetryAt = at(tc.retryAt)
		}
		c := e.finish(f)
		got := e.job(j.ID)
		name := "finish as " + string(tc.state)
		if got.State != tc.state {
			e.t.Errorf("%s: job is %s", name, got.State)
		}
		if got.Owner != "" {
			e.t.Errorf("%s: owner %q kept after the attempt ended, want none", name, got.Owner)
		}
		rec := model.AttemptRecord{Attempt: 1, StartedAt: r.StartedAt, Owner: r.Owner, FinishedAt: at(3), Error: f.Error}
		if d := diff([]model.AttemptRecord{rec}, got.Attempts); d != "" {
			e.t.Errorf("%s: attempt records (-want +got):\n%s", name, d)
		}
		wantProgress := *f.Progress
		if tc.state == model.Completed {
			wantProgress.Fraction = 1
		}
		if got.Progress != wantProgress {
			e.t.Errorf("%s: progress %+v, want %+v (the finish's; whole when completed)", name, got.Progress, wantProgress)
		}
		switch tc.state {
		case model.Completed:
			if !sameJSON(got.Result, f.Result) || got.Error != nil {
				e.t.Errorf("%s: result %s error %+v; want %s and no error", name, got.Result, got.Error, f.Result)
			}
		default:
			if diff(taskErr, got.Error) != "" {
				e.t.Errorf("%s: error %+v, want %+v", name, got.Error, taskErr)
			}
		}
		if tc.state.Terminal() {
			if !got.FinishedAt.Equal(at(3)) {
				e.t.Errorf("%s: FinishedAt %v, want the finish's At %v", name, got.FinishedAt, at(3))
			}
		} else {
			if !got.QueuedAt.Equal(at(3)) || !got.RunAt.Equal(f.RetryAt) || !got.FinishedAt.IsZero() {
				e.t.Errorf("%s: QueuedAt %v RunAt %v FinishedAt %v; want %v, %v, zero", name, got.QueuedAt, got.RunAt, got.FinishedAt, at(3), f.RetryAt)
			}
		}
		if len(c.Jobs) == 0 || c.Jobs[0].ID != j.ID || diff(got, c.Jobs[0]) != "" {
			e.t.Errorf("%s: Changes.Jobs %v does not start with the finished job as stored", name, ids(c.Jobs))
		}
		if tc.state == model.Queued {
			// The retry is claimable from its RetryAt on, not before.
			if tc.retryAt > 0 {
				if js := e.claim("host-1", 5, at(tc.retryAt-1)); len(js) != 0 {
					e.t.Errorf("%s: claimed %v before its RetryAt", name, ids(js))
				}
				e.claimID(j.ID, "host-1", at(tc.retryAt))
			} else {
				e.claimID(j.ID, "host-1", at(3))
			}
		}
	}
}

// testFinishGuard: a finish is applied only to the attempt that is
// running, by its owner; others are skipped and reported, the rest of the
// batch applies.
func testFinishGuard(e *env) {
	run := e.one(at(1))
	e.claimID(run.ID, "host-1", at(2))
	good := e.one(at(3))
	e.claimID(good.ID, "host-1", at(4))
	done := e.finished(model.Completed, at(5))
	queued := e.one(at(6))

	bad := []backend.Finish{
		{ID: run.ID, Owner: "host-2", Attempt: 1, State: model.Completed, At: at(7)},
		{ID: run.ID, Owner: "host-1", Attempt: 2, State: model.Completed, At: at(7)},
		{ID: run.ID, Owner: "host-1", Attempt: 0, State: model.Failed, At: at(7)},
		{ID: queued.ID, Owner: "host-1", Attempt: 0, State: model.Completed, At: at(7)},
		{ID: done.ID, Owner: "host-1", Attempt: 1, State: model.Failed, At: at(7)},
		{ID: newID(), Owner: "host-1", Attempt: 1, State: model.Completed, At: at(7)},
	}
	e.unchanged("finishes whose guard fails", func() {
		c := e.finish(bad...)
		if want := []string{run.ID, run.ID, run.ID, queued.ID, done.ID, bad[5].ID}; !slices.Equal(c.Skipped, want) {
			e.t.Errorf("Skipped = %v, want every finish of the batch %v", c.Skipped, want)
		}
		if len(c.Jobs) != 0 {
			e.t.Errorf("skipped finishes changed jobs %v", ids(c.Jobs))
		}
	})
	c := e.finish(append(bad[:1:1], backend.Finish{ID: good.ID, Owner: "host-1", Attempt: 1, State: model.Completed, At: at(8)})...)
	if !slices.Equal(c.Skipped, []string{run.ID}) {
		e.t.Errorf("mixed batch: Skipped = %v, want [%s]", c.Skipped, run.ID)
	}
	e.wantState(good.ID, model.Completed, "the guarded finish in a batch with a skipped one")
	e.wantState(run.ID, model.Running, "a job whose finish was skipped")
	// The same attempt finished twice: the second is skipped.
	c = e.finish(backend.Finish{ID: good.ID, Owner: "host-1", Attempt: 1, State: model.Failed, At: at(9)})
	if !slices.Equal(c.Skipped, []string{good.ID}) {
		e.t.Errorf("a second finish of one attempt was not skipped: Skipped = %v", c.Skipped)
	}
	e.wantState(good.ID, model.Completed, "a job finished twice")
}

// testFinishPaused: a job paused while running still ends; a retry of
// it stays paused (queued on resume).
func testFinishPaused(e *env) {
	for _, st := range []model.State{model.Completed, model.Failed, model.Canceled, model.Queued} {
		j := e.one(at(1))
		r := e.claimID(j.ID, "host-1", at(2))
		e.request(backend.RequestPause, j.ID, at(3))
		e.end(r, st, at(4))
		got := e.job(j.ID)
		if st != model.Queued {
			if got.State != st {
				e.t.Errorf("finish as %s of a job paused while running: job is %s", st, got.State)
			}
			continue
		}
		if got.State != model.Paused || got.PausedFrom != model.Queued || got.Owner != "" {
			e.t.Errorf("retry of a job paused while running: %s from %q owner %q; want paused from queued, no owner", got.State, got.PausedFrom, got.Owner)
		}
		if js := e.claim("host-1", 5, at(100)); len(js) != 0 {
			e.t.Errorf("claimed %v: a retried job paused while running must wait for resume", ids(js))
		}
		e.request(backend.RequestResume, j.ID, at(5))
		e.wantState(j.ID, model.Queued, "resume of a retried job paused while running")
	}
}

// testFinishCancelRequested: a cancel asked while the attempt ran wins
// over a retry or a failure decided before the request was seen, and the
// request's reason is kept; a completion still completes.
func testFinishCancelRequested(e *env) {
	why := &model.JobError{Kind: errkind.Canceled, Message: "operator said stop"}
	for _, st := range []model.State{model.Queued, model.Failed, model.Canceled, model.Completed} {
		j := e.one(at(1))
		r := e.claimID(j.ID, "host-1", at(2))
		if _, err := e.s.Request(e.ctx, backend.Request{Kind: backend.RequestCancel, ID: j.ID, Now: at(3), Why: why}); err != nil {
			e.t.Fatalf("cancel of a running job: %v", err)
		}
		e.end(r, st, at(4))
		got := e.job(j.ID)
		want := model.Canceled
		if st == model.Completed {
			want = model.Completed
		}
		if got.State != want || got.CancelRequested {
			e.t.Errorf("finish as %s after a cancel request: %s cancel-requested=%v, want %s and the request cleared", st, got.State, got.CancelRequested, want)
		}
		if want == model.Canceled && diff(why, got.Error) != "" {
			e.t.Errorf("finish as %s after a cancel request: error %+v, want the request's %+v", st, got.Error, why)
		}
	}
}

// testProgress: progress is recorded for the running attempt only.
func testProgress(e *env) {
	j := e.one(at(1))
	e.claimID(j.ID, "host-1", at(2))
	p := model.Progress{Fraction: 0.25, Message: "a quarter"}
	if err := e.s.Progress(e.ctx, []backend.ProgressUpdate{{ID: j.ID, Owner: "host-1", Attempt: 1, Progress: p}}); err != nil {
		e.t.Fatalf("Progress: %v", err)
	}
	if got := e.job(j.ID).Progress; got != p {
		e.t.Errorf("progress %+v, want %+v", got, p)
	}
	e.unchanged("progress of another owner, attempt or job", func() {
		err := e.s.Progress(e.ctx, []backend.ProgressUpdate{
			{ID: j.ID, Owner: "host-2", Attempt: 1, Progress: model.Progress{Fraction: 0.9}},
			{ID: j.ID, Owner: "host-1", Attempt: 2, Progress: model.Progress{Fraction: 0.9}},
			{ID: newID(), Owner: "host-1", Attempt: 1, Progress: model.Progress{Fraction: 0.9}},
		})
		if err != nil {
			e.t.Errorf("Progress whose guards fail: %v, want them dropped silently", err)
		}
	})
	e.unchanged("progress without a job id", func() {
		err := e.s.Progress(e.ctx, []backend.ProgressUpdate{{Owner: "host-1", Attempt: 1}})
		e.wantErr(err, backend.ErrInvalid, "Progress without a job id")
	})
}

// testFinishRefusals: a finish that no store could apply is refused, the
// whole batch with it.
func testFinishRefusals(e *env) {
	j := e.one(at(1))
	e.claimID(j.ID, "host-1", at(2))
	ok := backend.Finish{ID: j.ID, Owner: "host-1", Attempt: 1, State: model.Completed, At: at(3)}
	for _, tc := range []struct {
		name string
		f    backend.Finish
	}{
		{"no job id", backend.Finish{Owner: "host-1", Attempt: 1, State: model.Completed, At: at(3)}},
		{"no owner", backend.Finish{ID: j.ID, Attempt: 1, State: model.Completed, At: at(3)}},
		{"state running", backend.Finish{ID: j.ID, Owner: "host-1", Attempt: 1, State: model.Running, At: at(3)}},
		{"state waiting", backend.Finish{ID: j.ID, Owner: "host-1", Attempt: 1, State: model.Waiting, At: at(3)}},
		{"no state", backend.Finish{ID: j.ID, Owner: "host-1", Attempt: 1, At: at(3)}},
	} {
		e.unchanged("Finish with "+tc.name, func() {
			_, err := e.s.Finish(e.ctx, []backend.Finish{ok, tc.f})
			e.wantErr(err, backend.ErrInvalid, "Finish with "+tc.name)
		})
	}
}

// testRescueFencing: a dead host's attempt is ended by whoever rescues it
// (with the recorded owner and attempt); the dead host's late finish and
// progress, and its finish after the job runs again (on the same host
// come back), are refused.
func testRescueFencing(e *env) {
	j := e.one(at(1))
	r1 := e.claimID(j.ID, "host-1", at(2))
	gone, err := e.s.Running(e.ctx, []string{"host-2"})
	if err != nil || len(gone) != 1 || gone[0].ID != j.ID || gone[0].Owner != "host-1" || gone[0].Attempt != 1 {
		e.t.Fatalf("Running(alive host-2) = %v, %v; want the job of host-1 at attempt 1", ids(gone), err)
	}
	interrupted := &model.JobError{Kind: errkind.Interrupted, Message: "host-1 is gone", Retryable: true}
	c := e.finish(backend.Finish{ID: j.ID, Owner: gone[0].Owner, Attempt: gone[0].Attempt, State: model.Queued, Error: interrupted, At: at(3)})
	if len(c.Skipped) != 0 {
		e.t.Fatalf("the rescue's finish was skipped")
	}
	late := backend.Finish{ID: j.ID, Owner: r1.Owner, Attempt: r1.Attempt, State: model.Completed, At: at(4)}
	e.unchanged("the dead host's late finish and progress", func() {
		if c := e.finish(late); len(c.Skipped) != 1 {
			e.t.Errorf("a late finish of a rescued attempt was not skipped")
		}
		if err := e.s.Progress(e.ctx, []backend.ProgressUpdate{{ID: j.ID, Owner: "host-1", Attempt: 1, Progress: model.Progress{Fraction: 0.5}}}); err != nil {
			e.t.Errorf("late progress: %v", err)
		}
	})
	// host-1 comes back and claims the retry: only the attempt number
	// tells its old attempt's late finish from the new one's.
	r2 := e.claimID(j.ID, "host-1", at(5))
	if r2.Attempt != 2 || len(r2.Attempts) != 2 || diff(interrupted, r2.Attempts[0].Error) != "" {
		e.t.Errorf("the rescued job's next claim: attempt %d, records %+v; want attempt 2 after an interrupted first", r2.Attempt, r2.Attempts)
	}
	late.At = at(6)
	if c := e.finish(late); len(c.Skipped) != 1 {
		e.t.Errorf("host-1's late finish of attempt 1 applied to attempt 2")
	}
	e.end(r2, model.Completed, at(7))
	e.wantState(j.ID, model.Completed, "the rescued job finished by its new owner")
}
