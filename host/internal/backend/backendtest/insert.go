package backendtest

import (
	"encoding/json"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

var insertRules = []rule{
	{"Placement", testInsertPlacement},
	{"RecordRoundTrip", testInsertRoundTrip},
	{"IdempotencyKey", testInsertKey},
	{"Refusals", testInsertRefusals},
}

// testInsertPlacement: Insert decides where each job belongs from the
// states of its dependencies.
func testInsertPlacement(e *env) {
	now := at(10)
	queued := e.one(at(1)).ID
	completed := e.finished(model.Completed, at(2)).ID
	failed := e.finished(model.Failed, at(3)).ID
	canceled := e.one(at(4)).ID
	e.request(backend.RequestCancel, canceled, at(4))

	tests := []struct {
		name   string
		deps   []model.Dep
		hold   bool
		want   model.State
		cancel string // the dependency named by a cancel at once
	}{
		{name: "no dependencies", want: model.Queued},
		{name: "unfinished dependency", deps: []model.Dep{{ID: queued, Policy: model.DepCancel}}, want: model.Waiting},
		{name: "completed dependency", deps: []model.Dep{{ID: completed, Policy: model.DepCancel}}, want: model.Queued},
		{name: "failed dependency, cancel policy", deps: []model.Dep{{ID: failed, Policy: model.DepCancel}}, want: model.Canceled, cancel: failed},
		{name: "canceled dependency, cancel policy", deps: []model.Dep{{ID: canceled, Policy: model.DepCancel}}, want: model.Canceled, cancel: canceled},
		{name: "failed dependency, ignore policy", deps: []model.Dep{{ID: failed, Policy: model.DepIgnore}}, want: model.Queued},
		{name: "canceled dependency, ignore policy, and a completed one", deps: []model.Dep{{ID: canceled, Policy: model.DepIgnore}, {ID: completed, Policy: model.DepCancel}}, want: model.Queued},
		{name: "unfinished and failed dependencies: the failure wins", deps: []model.Dep{{ID: queued, Policy: model.DepCancel}, {ID: failed, Policy: model.DepCancel}}, want: model.Canceled, cancel: failed},
		{name: "held", hold: true, want: model.Created},
		{name: "held with a failed dependency", deps: []model.Dep{{ID: failed, Policy: model.DepCancel}}, hold: true, want: model.Created},
	}
	for _, tc := range tests {
		j := newJob(func(j *model.Job) { j.DependsOn = tc.deps })
		got := e.insertP(backend.InsertParams{Now: now, Jobs: []*model.Job{j}, Hold: tc.hold})[0]
		stored := e.job(j.ID)
		if d := diff(got, stored); d != "" {
			e.t.Errorf("%s: Insert answered a job that differs from the stored one (-answer +stored):\n%s", tc.name, d)
		}
		if stored.State != tc.want {
			e.t.Errorf("%s: inserted as %s, want %s", tc.name, stored.State, tc.want)
			continue
		}
		switch tc.want {
		case model.Queued:
			if !stored.QueuedAt.Equal(now) {
				e.t.Errorf("%s: QueuedAt %v, want the insert's Now %v", tc.name, stored.QueuedAt, now)
			}
		case model.Canceled:
			e.wantCancelBy(j.ID, tc.cancel, tc.name)
			dep := e.job(tc.cancel)
			if want := DependencyFailedError(dep); stored.Error == nil || stored.Error.Message != want.Message {
				e.t.Errorf("%s: error %+v, want message %q", tc.name, stored.Error, want.Message)
			}
			if !stored.FinishedAt.Equal(now) {
				e.t.Errorf("%s: a job canceled at once has FinishedAt %v, want the insert's Now %v", tc.name, stored.FinishedAt, now)
			}
		default:
			if !stored.QueuedAt.IsZero() || !stored.FinishedAt.IsZero() {
				e.t.Errorf("%s: a %s job has QueuedAt %v FinishedAt %v, want both zero", tc.name, tc.want, stored.QueuedAt, stored.FinishedAt)
			}
		}
	}

	// Dependencies on jobs earlier in the same call, and a cancel at once
	// that follows from one.
	a := newJob()
	b := newJob(dependsOn(model.DepCancel, a.ID))
	c := newJob(dependsOn(model.DepCancel, failed))
	d := newJob(dependsOn(model.DepCancel, c.ID))
	got := e.insert(now, a, b, c, d)
	for i, want := range []model.State{model.Queued, model.Waiting, model.Canceled, model.Canceled} {
		if got[i].State != want {
			e.t.Errorf("one call inserting a, b←a, c←failed, d←c: job %d is %s, want %s", i+1, got[i].State, want)
		}
	}
	e.wantCancelBy(d.ID, c.ID, "a job depending on one canceled at once in the same call")
}

// testInsertRoundTrip: the record the engine built is stored as given,
// but for the fields the store decides.
func testInsertRoundTrip(e *env) {
	dep := e.one(at(1))
	j := newJob(func(j *model.Job) {
		j.Args = json.RawMessage(`{"path":"/tmp/a b","n":[1,2,3]}`)
		j.Priority = model.High
		j.Key = "round-trip"
		j.Labels = map[string]string{"team": "docs", "empty": ""}
		j.Schedule = newID()
		j.MaxAttempts = 7
		j.Backoff = model.Backoff{Initial: 3 * time.Second, Max: time.Hour, Multiplier: 1.5, Jitter: 0.25}
		j.Timeout = 90 * time.Second
		j.StallTimeout = 30 * time.Second
		j.RunAt = at(500)
		j.CreatedAt = at(2)
		j.DependsOn = []model.Dep{{ID: dep.ID, Policy: model.DepIgnore}}
		j.Trace = model.TraceContext{Parent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", State: "vendor=a,other=b"}
	})
	want := j.Clone()
	e.insert(at(3), j)
	if e.reopen() {
		e.t.Log("reopened before reading back")
	}
	got := e.job(j.ID)
	want.State = model.Waiting
	if d := diff(want, got); d != "" {
		e.t.Errorf("stored record differs from the one inserted (-inserted +stored):\n%s", d)
	}
}

// testInsertKey: a job whose idempotency key is stored is not inserted;
// the stored job is answered with Existing.
func testInsertKey(e *env) {
	first := e.one(at(1), withKey("k1"))
	before := dump(e.t, e.s)
	again := newJob(withKey("k1"), withPriority(model.Critical))
	res, err := e.s.Insert(e.ctx, backend.InsertParams{Now: at(2), Jobs: []*model.Job{again}})
	ins := res.Jobs
	if err != nil {
		e.t.Fatalf("Insert with a stored key: %v", err)
	}
	if !ins[0].Existing || ins[0].Job.ID != first.ID {
		e.t.Errorf("Insert with stored key k1 answered %s existing=%v, want job %s existing=true", ins[0].Job.ID, ins[0].Existing, first.ID)
	}
	if d := diffDumps(before, dump(e.t, e.s)); d != "" {
		e.t.Errorf("Insert with a stored key changed the store:\n%s", d)
	}
	if _, err := e.s.Job(e.ctx, again.ID); err == nil {
		e.t.Errorf("the job carrying a stored key was stored under its own id %s", again.ID)
	}
	if id, err := e.s.JobByKey(e.ctx, "k1"); err != nil || id != first.ID {
		e.t.Errorf("JobByKey(k1) = %q, %v; want %s", id, err, first.ID)
	}
	_, err = e.s.JobByKey(e.ctx, "never")
	e.wantErr(err, backend.ErrNotFound, "JobByKey of a key never stored")

	// The same key twice in one call: the second is the first.
	x, y := newJob(withKey("k2")), newJob(withKey("k2"))
	res, err = e.s.Insert(e.ctx, backend.InsertParams{Now: at(3), Jobs: []*model.Job{x, y}})
	ins = res.Jobs
	if err != nil {
		e.t.Fatalf("Insert of two jobs with one key: %v", err)
	}
	if ins[0].Existing || !ins[1].Existing || ins[1].Job.ID != x.ID {
		e.t.Errorf("two jobs with key k2 in one call: answered (%s existing=%v), (%s existing=%v); want the first inserted and the second answered with it",
			ins[0].Job.ID, ins[0].Existing, ins[1].Job.ID, ins[1].Existing)
	}
	if c, _ := e.s.Counts(e.ctx); c.ByState()[model.Queued] != 2 {
		e.t.Errorf("after k1 and k2 (twice): %d queued jobs, want 2", c.ByState()[model.Queued])
	}
}

// testInsertRefusals: bad input and broken references are refused, all
// or nothing.
func testInsertRefusals(e *env) {
	stored := e.one(at(1))
	g := newGroup(false, false)
	e.groups(g)
	tests := []struct {
		name string
		p    backend.InsertParams
		want error
	}{
		{"nothing to insert", backend.InsertParams{Now: at(2)}, backend.ErrInvalid},
		{"job without id", backend.InsertParams{Now: at(2), Jobs: []*model.Job{newJob(func(j *model.Job) { j.ID = "" })}}, backend.ErrInvalid},
		{"job without task", backend.InsertParams{Now: at(2), Jobs: []*model.Job{newJob(withTask(""))}}, backend.ErrInvalid},
		{"dependency without id", backend.InsertParams{Now: at(2), Jobs: []*model.Job{newJob(dependsOn(model.DepCancel, ""))}}, backend.ErrInvalid},
		{"dependency without policy", backend.InsertParams{Now: at(2), Jobs: []*model.Job{newJob(dependsOn("", stored.ID))}}, backend.ErrInvalid},
		{"dependency with an unknown policy", backend.InsertParams{Now: at(2), Jobs: []*model.Job{newJob(dependsOn("sometimes", stored.ID))}}, backend.ErrInvalid},
		{"group without id", backend.InsertParams{Now: at(2), Groups: []*model.Group{{Name: "x"}}}, backend.ErrInvalid},
		{"dependency not stored", backend.InsertParams{Now: at(2), Jobs: []*model.Job{newJob(dependsOn(model.DepCancel, newID()))}}, backend.ErrNotFound},
		{"dependency later in the call", func() backend.InsertParams {
			a, b := newJob(), newJob()
			a.DependsOn = []model.Dep{{ID: b.ID, Policy: model.DepCancel}}
			return backend.InsertParams{Now: at(2), Jobs: []*model.Job{newJob(), a, b}}
		}(), backend.ErrNotFound},
		{"group not stored", backend.InsertParams{Now: at(2), Jobs: []*model.Job{newJob(), newJob(inGroup(newID()))}}, backend.ErrNotFound},
		{"group id taken", backend.InsertParams{Now: at(2), Groups: []*model.Group{newGroup(false, false), {ID: g.ID, Name: "again"}}, Jobs: []*model.Job{newJob()}}, backend.ErrConflict},
		{"job id taken", backend.InsertParams{Now: at(2), Jobs: []*model.Job{newJob(), newJob(func(j *model.Job) { j.ID = stored.ID })}}, backend.ErrConflict},
	}
	for _, tc := range tests {
		e.unchanged("Insert with "+tc.name, func() {
			_, err := e.s.Insert(e.ctx, tc.p)
			e.wantErr(err, tc.want, "Insert with "+tc.name)
		})
	}
}
