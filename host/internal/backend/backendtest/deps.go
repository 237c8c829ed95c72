package backendtest

import (
	"slices"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

var depRules = []rule{
	{"Release", testDepRelease},
	{"CancelCascade", testDepCascade},
	{"IgnorePolicy", testDepIgnore},
	{"RunningDependentUntouched", testDepRunningDependent},
	{"Dependents", testDependents},
	{"AddDependencies", testAddDependencies},
	{"AddDependenciesRefusals", testAddDependenciesRefusals},
	{"PrunedDependencyIsDone", testPrunedDependency},
	{"StampsAfterDependencies", testDepStampsAfterDependencies},
}

// testDepStampsAfterDependencies: a caller's time is taken before its
// write commits, and a dependency's finish may commit in between with a
// later one (an insert racing the finish, a release on a host whose clock
// runs behind). A job is queued no earlier than its finished
// dependencies ended, and an attempt starts no earlier than its job was
// queued, so that no record says a job started before what it waited for
// ended.
func testDepStampsAfterDependencies(e *env) {
	dep := e.finished(model.Completed, at(5))
	// Inserted and submitted at an earlier time than the finish.
	ins := e.one(at(3), dependsOn(model.DepCancel, dep.ID))
	held := e.insertP(backend.InsertParams{Now: at(3), Hold: true, Jobs: []*model.Job{newJob(dependsOn(model.DepIgnore, dep.ID))}})[0]
	e.request(backend.RequestSubmit, held.ID, at(4))
	for _, id := range []string{ins.ID, held.ID} {
		if got := e.wantState(id, model.Queued, "a job whose dependency completed"); !got.QueuedAt.Equal(at(5)) {
			e.t.Errorf("job %s placed at an earlier time has QueuedAt %v, want its dependency's end %v", id, got.QueuedAt, at(5))
		}
	}
	// Released by a finish stamped earlier than the other dependency's.
	a := e.one(at(1), withTask(taskB))
	w := e.one(at(1), dependsOn(model.DepCancel, a.ID, dep.ID))
	ra := e.claimQ("host-1", 1, at(2), map[string]int{taskB: 1})[0]
	e.end(ra, model.Completed, at(4))
	if got := e.wantState(w.ID, model.Queued, "a job whose last dependency completed"); !got.QueuedAt.Equal(at(5)) {
		e.t.Errorf("job released at %v has QueuedAt %v, want its other dependency's later end %v", at(4), got.QueuedAt, at(5))
	}
	// Claimed with a time before the job was queued.
	for _, id := range []string{ins.ID, held.ID, w.ID} {
		c := e.claimID(id, "host-2", at(4))
		if !c.StartedAt.Equal(at(5)) || len(c.Attempts) != 1 || !c.Attempts[0].StartedAt.Equal(at(5)) {
			e.t.Errorf("job %s queued at %v, claimed at %v: StartedAt %v, attempts %v; want %v", id, at(5), at(4), c.StartedAt, c.Attempts, at(5))
		}
		if st := e.job(id); !st.StartedAt.Equal(at(5)) {
			e.t.Errorf("job %s as stored: StartedAt %v, want %v", id, st.StartedAt, at(5))
		}
	}
}

// testDepRelease: a waiting job is queued when its last dependency
// completes, stamped with that finish's time, and reported.
func testDepRelease(e *env) {
	d1 := e.one(at(1), withTask(taskB))
	d2 := e.one(at(1), withTask(taskB))
	w := e.one(at(2), dependsOn(model.DepCancel, d1.ID, d2.ID))
	js := e.claimQ("host-1", 2, at(3), map[string]int{taskB: 2})
	c := e.end(js[0], model.Completed, at(4))
	e.wantState(w.ID, model.Waiting, "a job with one of two dependencies completed")
	if slices.Contains(ids(c.Jobs), w.ID) {
		e.t.Errorf("Changes.Jobs lists %s, which is still waiting", w.ID)
	}
	c = e.end(js[1], model.Completed, at(5))
	got := e.wantState(w.ID, model.Queued, "a job whose last dependency completed")
	if !got.QueuedAt.Equal(at(5)) {
		e.t.Errorf("released job has QueuedAt %v, want the finish's At %v", got.QueuedAt, at(5))
	}
	if want := []string{js[1].ID, w.ID}; !slices.Equal(ids(c.Jobs), want) {
		e.t.Errorf("Changes.Jobs = %v, want the finished job then the released one %v", ids(c.Jobs), want)
	}
	e.claimID(w.ID, "host-1", at(6))
}

// testDepCascade: a failed dependency cancels its dependents under the
// cancel policy, transitively, each naming the job that canceled it.
func testDepCascade(e *env) {
	a := e.one(at(1), withTask(taskB))
	b := e.one(at(1), dependsOn(model.DepCancel, a.ID))
	c := e.one(at(1), dependsOn(model.DepCancel, b.ID))
	d := e.one(at(1), dependsOn(model.DepCancel, c.ID))
	held := e.insertP(backend.InsertParams{Now: at(1), Hold: true, Jobs: []*model.Job{newJob(dependsOn(model.DepCancel, a.ID))}})[0]
	ra := e.claimQ("host-1", 1, at(2), map[string]int{taskB: 1})[0]
	ch := e.end(ra, model.Failed, at(3))
	e.wantCancelBy(b.ID, a.ID, "direct dependent")
	e.wantCancelBy(c.ID, b.ID, "dependent at depth 2")
	e.wantCancelBy(d.ID, c.ID, "dependent at depth 3")
	e.wantState(held.ID, model.Created, "a created dependent")
	for _, id := range []string{b.ID, c.ID, d.ID} {
		j := e.job(id)
		if !j.FinishedAt.Equal(at(3)) {
			e.t.Errorf("cascade-canceled %s has FinishedAt %v, want %v", id, j.FinishedAt, at(3))
		}
		if want := DependencyFailedError(e.job(j.Error.Dependency)); j.Error.Message != want.Message {
			e.t.Errorf("cascade-canceled %s: message %q, want %q", id, j.Error.Message, want.Message)
		}
	}
	if want := []string{a.ID, b.ID, c.ID, d.ID}; !slices.Equal(ids(ch.Jobs), want) {
		e.t.Errorf("Changes.Jobs = %v, want the failed job then its cascade in order %v", ids(ch.Jobs), want)
	}
	// A canceled dependency cancels too.
	x := e.one(at(4), withTask(taskB))
	y := e.one(at(4), dependsOn(model.DepCancel, x.ID))
	r := e.request(backend.RequestCancel, x.ID, at(5))
	e.wantCancelBy(y.ID, x.ID, "dependent of a job the user canceled")
	if !slices.Contains(ids(r.Changes.Jobs), y.ID) {
		e.t.Errorf("cancel's Changes.Jobs %v lacks the canceled dependent %s", ids(r.Changes.Jobs), y.ID)
	}
}

// testDepIgnore: under the ignore policy a dependent runs once the
// dependency is finished, whatever its outcome.
func testDepIgnore(e *env) {
	for _, st := range []model.State{model.Failed, model.Canceled, model.Completed} {
		a := e.one(at(1), withTask(taskB))
		b := e.one(at(1), dependsOn(model.DepIgnore, a.ID))
		ra := e.claimQ("host-1", 1, at(2), map[string]int{taskB: 1})[0]
		e.end(ra, st, at(3))
		e.wantState(b.ID, model.Queued, "ignore-policy dependent of a job that ended "+string(st))
		e.request(backend.RequestCancel, b.ID, at(4))
	}
}

// testDepRunningDependent: a job already running under the ignore policy
// is not touched when its dependency is retried and fails again; the
// re-armed cancel-policy dependent is canceled again.
func testDepRunningDependent(e *env) {
	a := e.one(at(1), withTask(taskB))
	b := e.one(at(1), dependsOn(model.DepIgnore, a.ID), withTask(taskDone))
	c := e.one(at(1), dependsOn(model.DepCancel, a.ID))
	ra := e.claimQ("host-1", 1, at(2), map[string]int{taskB: 1})[0]
	e.end(ra, model.Canceled, at(3))
	e.wantCancelBy(c.ID, a.ID, "cancel-policy dependent")
	rb := e.claimQ("host-2", 1, at(4), map[string]int{taskDone: 1})
	if len(rb) != 1 || rb[0].ID != b.ID {
		e.t.Fatalf("could not claim the ignore-policy dependent")
	}
	e.request(backend.RequestRetry, a.ID, at(5))
	e.wantState(c.ID, model.Waiting, "cancel-policy dependent re-armed by the retry")
	e.wantState(b.ID, model.Running, "a running dependent of the retried job")
	ra = e.claimQ("host-1", 1, at(6), map[string]int{taskB: 1})[0]
	e.end(ra, model.Failed, at(7))
	if got := e.wantState(b.ID, model.Running, "a running ignore-policy dependent of a job that failed again"); got.CancelRequested {
		e.t.Errorf("a running ignore-policy dependent was asked to stop")
	}
	e.wantCancelBy(c.ID, a.ID, "a re-armed dependent of a job that failed again")
}

// testDependents: the edges out of a job, with their policies, in
// dependent id order, the sequential group's included.
func testDependents(e *env) {
	a := e.one(at(1))
	g := newGroup(true, false)
	e.groups(g)
	x := e.one(at(1), dependsOn(model.DepIgnore, a.ID))
	m1 := e.one(at(1), inGroup(g.ID), dependsOn(model.DepCancel, a.ID))
	m2 := e.one(at(1), inGroup(g.ID))
	got, err := e.s.Dependents(e.ctx, a.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	want := []model.Dep{{ID: x.ID, Policy: model.DepIgnore}, {ID: m1.ID, Policy: model.DepCancel}}
	if d := diff(want, got); d != "" {
		e.t.Errorf("Dependents(a) (-want +got):\n%s", d)
	}
	if got, _ := e.s.Dependents(e.ctx, m1.ID); diff([]model.Dep{{ID: m2.ID, Policy: model.DepCancel}}, got) != "" {
		e.t.Errorf("Dependents of a sequential member = %+v, want the next member under the cancel policy", got)
	}
	if got, err := e.s.Dependents(e.ctx, x.ID); err != nil || len(got) != 0 {
		e.t.Errorf("Dependents of a job nobody waits for = %+v, %v; want none, no error", got, err)
	}
	_, err = e.s.Dependents(e.ctx, "")
	e.wantErr(err, backend.ErrInvalid, "Dependents of an empty id")
}

// testAddDependencies: a created, waiting or queued job gains
// dependencies and is placed again.
func testAddDependencies(e *env) {
	pending := e.one(at(1), withTask(taskB))
	done := e.finished(model.Completed, at(1))
	failed := e.finished(model.Failed, at(1))

	created := e.insertP(backend.InsertParams{Now: at(2), Hold: true, Jobs: []*model.Job{newJob()}})[0]
	if _, err := e.s.AddDependencies(e.ctx, created.ID, []model.Dep{{ID: failed.ID, Policy: model.DepCancel}}, at(3)); err != nil {
		e.t.Fatalf("AddDependencies to a created job: %v", err)
	}
	got := e.wantState(created.ID, model.Created, "a created job given a failed dependency")
	if !slices.Contains(depIDs(got.DependsOn), failed.ID) {
		e.t.Errorf("DependsOn %v lacks the added dependency", depIDs(got.DependsOn))
	}

	queued := e.one(at(4))
	if _, err := e.s.AddDependencies(e.ctx, queued.ID, []model.Dep{{ID: done.ID, Policy: model.DepCancel}}, at(5)); err != nil {
		e.t.Fatal(err)
	}
	e.wantState(queued.ID, model.Queued, "a queued job given a completed dependency")
	c, err := e.s.AddDependencies(e.ctx, queued.ID, []model.Dep{{ID: pending.ID, Policy: model.DepCancel}}, at(6))
	if err != nil {
		e.t.Fatal(err)
	}
	e.wantState(queued.ID, model.Waiting, "a queued job given an unfinished dependency")
	if !slices.Contains(ids(c.Jobs), queued.ID) {
		e.t.Errorf("Changes.Jobs %v lacks the job sent back to waiting", ids(c.Jobs))
	}
	if _, err := e.s.AddDependencies(e.ctx, queued.ID, []model.Dep{{ID: failed.ID, Policy: model.DepCancel}}, at(7)); err != nil {
		e.t.Fatal(err)
	}
	e.wantCancelBy(queued.ID, failed.ID, "a waiting job given a failed dependency")
}

// testAddDependenciesRefusals: bad input, states that can no longer
// wait, unknown jobs and cycles are refused, all or nothing.
func testAddDependenciesRefusals(e *env) {
	a := e.insertP(backend.InsertParams{Now: at(1), Hold: true, Jobs: []*model.Job{newJob()}})[0]
	b := e.one(at(1), dependsOn(model.DepCancel, a.ID))
	c := e.one(at(1), dependsOn(model.DepCancel, b.ID))
	free := e.one(at(1))
	running := e.jobIn("running", 2)
	done := e.finished(model.Completed, at(3))
	for _, tc := range []struct {
		name string
		id   string
		deps []model.Dep
		want error
	}{
		{"no job id", "", []model.Dep{{ID: free.ID, Policy: model.DepCancel}}, backend.ErrInvalid},
		{"no dependencies", a.ID, nil, backend.ErrInvalid},
		{"a dependency without id", a.ID, []model.Dep{{Policy: model.DepCancel}}, backend.ErrInvalid},
		{"an unknown policy", a.ID, []model.Dep{{ID: free.ID, Policy: "maybe"}}, backend.ErrInvalid},
		{"itself", a.ID, []model.Dep{{ID: a.ID, Policy: model.DepCancel}}, backend.ErrInvalid},
		{"one dependency twice", a.ID, []model.Dep{{ID: free.ID, Policy: model.DepCancel}, {ID: free.ID, Policy: model.DepIgnore}}, backend.ErrInvalid},
		{"an unknown job", newID(), []model.Dep{{ID: free.ID, Policy: model.DepCancel}}, backend.ErrNotFound},
		{"an unknown dependency", a.ID, []model.Dep{{ID: free.ID, Policy: model.DepCancel}, {ID: newID(), Policy: model.DepCancel}}, backend.ErrNotFound},
		{"a running job", running, []model.Dep{{ID: free.ID, Policy: model.DepCancel}}, backend.ErrState},
		{"a finished job", done.ID, []model.Dep{{ID: free.ID, Policy: model.DepCancel}}, backend.ErrState},
		{"a dependency already there", b.ID, []model.Dep{{ID: free.ID, Policy: model.DepCancel}, {ID: a.ID, Policy: model.DepIgnore}}, backend.ErrConflict},
		{"a two-job cycle", a.ID, []model.Dep{{ID: free.ID, Policy: model.DepCancel}, {ID: b.ID, Policy: model.DepCancel}}, backend.ErrConflict},
		{"a three-job cycle", a.ID, []model.Dep{{ID: c.ID, Policy: model.DepIgnore}}, backend.ErrConflict},
	} {
		e.unchanged("AddDependencies with "+tc.name, func() {
			_, err := e.s.AddDependencies(e.ctx, tc.id, tc.deps, at(4))
			e.wantErr(err, tc.want, "AddDependencies with "+tc.name)
		})
	}
}

// testPrunedDependency: a dependency pruned after it finished blocks
// nothing when its dependent is placed later.
func testPrunedDependency(e *env) {
	failed := e.finished(model.Failed, at(1))
	held := e.insertP(backend.InsertParams{Now: at(2), Hold: true, Jobs: []*model.Job{newJob(dependsOn(model.DepCancel, failed.ID))}})[0]
	if ids, err := e.s.Prune(e.ctx, at(2), 10); err != nil || !slices.Equal(ids, []string{failed.ID}) {
		e.t.Fatalf("Prune = %v, %v; want the failed dependency", ids, err)
	}
	e.request(backend.RequestSubmit, held.ID, at(3))
	e.wantState(held.ID, model.Queued, "submit of a job whose (failed) dependency was pruned")
}
