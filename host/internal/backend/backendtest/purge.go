package backendtest

import (
	"slices"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

var purgeRules = []rule{
	{"Filter", testPurgeFilter},
	{"WhatGoesWithAJob", testPurgeRefs},
	{"Refusals", testPurgeRefusals},
}

// purge calls Purge, which must succeed, and checks that it deleted want,
// in that order, and that they are gone.
func (e *env) purge(f backend.PurgeFilter, want ...string) {
	e.t.Helper()
	got, err := e.s.Purge(e.ctx, f)
	if err != nil || !slices.Equal(got, want) {
		e.t.Fatalf("Purge(%+v) = %v, %v; want %v", f, got, err, want)
	}
	for _, id := range want {
		e.wantGone(id, "a purged job")
	}
}

// testPurgeFilter: Purge deletes finished jobs of the states, the task and
// the finish time asked for (zero fields: any), oldest first by finish
// time, at most Limit; never a live job, whatever the filter.
func testPurgeFilter(e *env) {
	c1 := e.finished(model.Completed, at(1))
	f2 := e.finished(model.Failed, at(1.5), withTask(taskB))
	f1 := e.finished(model.Failed, at(2), withPriority(model.High))
	x1 := e.finished(model.Canceled, at(3))
	c2 := e.finished(model.Completed, at(5))
	f3 := e.finished(model.Failed, at(6))
	live := e.one(at(0), withTask(taskDone))
	e.one(at(0), withTask(taskB))
	failed := []model.State{model.Failed}

	e.purge(backend.PurgeFilter{States: failed, Task: taskDone, Limit: 1}, f1.ID)
	if c := e.counts(); c[model.Failed][model.High] != 0 || c[model.Failed][model.Normal] != 2 {
		e.t.Errorf("Counts of failed jobs after purging the high one = %v, want 2 normal", c[model.Failed])
	}
	e.purge(backend.PurgeFilter{States: failed, FinishedBefore: at(6), Limit: 10}, f2.ID)
	e.purge(backend.PurgeFilter{States: []model.State{model.Canceled, model.Failed}, Limit: 10}, x1.ID, f3.ID)
	e.purge(backend.PurgeFilter{FinishedBefore: at(5), Limit: 10}, c1.ID)
	e.purge(backend.PurgeFilter{Task: taskDone, Limit: 10}, c2.ID)
	e.purge(backend.PurgeFilter{Limit: 10})
	e.wantState(live.ID, model.Queued, "a live job of the task purged")
	want := backend.Counts{model.Queued: {model.Normal: 2}}
	if d := diff(want, e.counts()); d != "" {
		e.t.Errorf("Counts after purging every finished job (-want +got):\n%s", d)
	}
	if e.reopen() {
		if d := diff(want, e.counts()); d != "" {
			e.t.Errorf("Counts after reopening (-want +got):\n%s", d)
		}
		e.wantGone(c1.ID, "a purged job, after reopening")
	}
}

// testPurgeRefs: with a purged job go its key, edges and membership, as
// with a deleted one, and a done group left empty; Limit bounds each call.
func testPurgeRefs(e *env) {
	g, stays := newGroup(false, false), newGroup(false, false)
	e.groups(g, stays)
	dep := e.finished(model.Completed, at(1), inGroup(stays.ID))
	a := e.finished(model.Failed, at(2), inGroup(g.ID), withKey("purged-key"), dependsOn(model.DepIgnore, dep.ID))
	b := e.finished(model.Canceled, at(3), inGroup(g.ID))
	e.one(at(4), inGroup(stays.ID))
	e.purge(backend.PurgeFilter{States: []model.State{model.Failed, model.Canceled}, Limit: 1}, a.ID)
	_, err := e.s.JobByKey(e.ctx, "purged-key")
	e.wantErr(err, backend.ErrNotFound, "JobByKey of a purged job's key")
	if ds, err := e.s.Dependents(e.ctx, dep.ID); err != nil || len(ds) != 0 {
		e.t.Errorf("Dependents of a purged job's dependency = %v, %v; want none", ds, err)
	}
	if ms, _ := e.s.Members(e.ctx, g.ID); !slices.Equal(ms, []string{b.ID}) {
		e.t.Errorf("Members after purging one = %v, want %v", ms, []string{b.ID})
	}
	e.purge(backend.PurgeFilter{States: []model.State{model.Failed, model.Canceled}, Limit: 1}, b.ID)
	_, err = e.s.Group(e.ctx, g.ID)
	e.wantErr(err, backend.ErrNotFound, "Group of a done group whose members were all purged")
	e.purge(backend.PurgeFilter{Limit: 5}, dep.ID)
	if gr := e.group(stays.ID); gr.Size != 2 || gr.Counts[model.Completed] != 1 || gr.Counts[model.Queued] != 1 {
		e.t.Errorf("a group with a live member, one purged: size %d counts %v; want size 2, 1 completed, 1 queued", gr.Size, gr.Counts)
	}
}

// testPurgeRefusals: a state that is not finished, a limit outside
// 1..MaxLimit are ErrInvalid, and change nothing.
func testPurgeRefusals(e *env) {
	e.finished(model.Completed, at(1))
	e.one(at(2))
	for _, c := range []struct {
		what string
		f    backend.PurgeFilter
	}{
		{"Purge of queued jobs", backend.PurgeFilter{States: []model.State{model.Completed, model.Queued}, Limit: 10}},
		{"Purge of an unknown state", backend.PurgeFilter{States: []model.State{"done"}, Limit: 10}},
		{"Purge with limit 0", backend.PurgeFilter{}},
		{"Purge with a negative limit", backend.PurgeFilter{Limit: -1}},
		{"Purge with a limit over MaxLimit", backend.PurgeFilter{Limit: backend.MaxLimit + 1}},
	} {
		e.unchanged(c.what, func() {
			got, err := e.s.Purge(e.ctx, c.f)
			e.wantErr(err, backend.ErrInvalid, c.what)
			if len(got) != 0 {
				e.t.Errorf("%s answered ids %v with its error", c.what, got)
			}
		})
	}
}
