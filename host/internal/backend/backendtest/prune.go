package backendtest

import (
	"slices"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

var pruneRules = []rule{
	{"OldestFinishedFirst", testPruneOrder},
	{"WhatGoesWithAJob", testPruneRefs},
	{"Groups", testPruneGroups},
	{"SequentialLastMember", testPruneSequentialLast},
	{"SequentialLastMemberInsert", testPruneSequentialLastInsert},
	{"Refusals", testPruneRefusals},
}

// testPruneOrder: Prune deletes finished jobs that finished before the
// time, oldest first (then by id), at most limit, never a live job.
func testPruneOrder(e *env) {
	f3 := e.finished(model.Completed, at(3))
	f1 := e.finished(model.Failed, at(1))
	e.one(at(0)) // live, older than all
	f2 := e.finished(model.Canceled, at(2))
	f5 := e.finished(model.Completed, at(5))
	got, err := e.s.Prune(e.ctx, at(5), 2)
	if err != nil || !slices.Equal(got, []string{f1.ID, f2.ID}) {
		e.t.Errorf("Prune(before 5s, 2) = %v, %v; want the two oldest %v", got, err, []string{f1.ID, f2.ID})
	}
	got, _ = e.s.Prune(e.ctx, at(5), 10)
	if !slices.Equal(got, []string{f3.ID}) {
		e.t.Errorf("Prune(before 5s, 10) = %v, want %v (5s is not before 5s)", got, []string{f3.ID})
	}
	for _, id := range []string{f1.ID, f2.ID, f3.ID} {
		_, err := e.s.Job(e.ctx, id)
		e.wantErr(err, backend.ErrNotFound, "Job of a pruned job")
	}
	e.wantState(f5.ID, model.Completed, "a job finished at the cut-off")
	if c, _ := e.s.Counts(e.ctx); c.ByState()[model.Completed] != 1 || c.ByState()[model.Failed] != 0 || c.ByState()[model.Queued] != 1 {
		e.t.Errorf("Counts after pruning = %v, want 1 completed, 1 queued", c.ByState())
	}
	if got, _ := e.s.Prune(e.ctx, at(1000), 10); !slices.Equal(got, []string{f5.ID}) {
		e.t.Errorf("Prune of everything finished = %v, want %v and never the queued job", got, []string{f5.ID})
	}
}

// testPruneRefs: with a job go its key, its edges both ways and its
// membership.
func testPruneRefs(e *env) {
	g := newGroup(false, false)
	e.groups(g)
	dep := e.finished(model.Completed, at(1))
	j := e.finished(model.Completed, at(2), withKey("pruned-key"), inGroup(g.ID), dependsOn(model.DepCancel, dep.ID))
	keep := e.one(at(3), inGroup(g.ID), dependsOn(model.DepIgnore, j.ID))
	if got, _ := e.s.Prune(e.ctx, at(2.5), 10); !slices.Equal(got, []string{dep.ID, j.ID}) {
		e.t.Fatalf("Prune = %v, want %v", got, []string{dep.ID, j.ID})
	}
	_, err := e.s.JobByKey(e.ctx, "pruned-key")
	e.wantErr(err, backend.ErrNotFound, "JobByKey of a pruned job's key")
	again := e.one(at(4), withKey("pruned-key"))
	if id, _ := e.s.JobByKey(e.ctx, "pruned-key"); id != again.ID {
		e.t.Errorf("a pruned job's key, inserted again, names %q, want the new job %s", id, again.ID)
	}
	if ds, _ := e.s.Dependents(e.ctx, dep.ID); len(ds) != 0 {
		e.t.Errorf("Dependents of a pruned job = %v, want none", ds)
	}
	if ms, _ := e.s.Members(e.ctx, g.ID); !slices.Equal(ms, []string{keep.ID}) {
		e.t.Errorf("Members after pruning one = %v, want %v", ms, []string{keep.ID})
	}
	if gr := e.group(g.ID); gr.Size != 2 || gr.Counts[model.Completed] != 1 {
		e.t.Errorf("group after pruning a member: size %d counts %v; want its history kept (size 2, 1 completed)", gr.Size, gr.Counts)
	}
	if js, _, _ := e.s.ListJobs(e.ctx, backend.JobFilter{Group: g.ID}); !slices.Equal(ids(js), []string{keep.ID}) {
		e.t.Errorf("ListJobs of the group = %v, want %v", ids(js), []string{keep.ID})
	}
}

// testPruneGroups: a group goes when it is done and its last member is
// pruned, unless a schedule adds its runs to it.
func testPruneGroups(e *env) {
	gone, kept, open := newGroup(false, false), newGroup(false, false), newGroup(false, false)
	e.groups(gone, kept, open)
	e.finished(model.Completed, at(1), inGroup(gone.ID))
	e.finished(model.Completed, at(1), inGroup(kept.ID))
	e.finished(model.Completed, at(1), inGroup(open.ID))
	e.one(at(1), inGroup(open.ID))
	s := newSchedule(at(60))
	s.Template.Group = kept.ID
	if err := e.s.PutSchedule(e.ctx, s); err != nil {
		e.t.Fatal(err)
	}
	if got, _ := e.s.Prune(e.ctx, at(2), 10); len(got) != 3 {
		e.t.Fatalf("Prune = %v, want 3 jobs", got)
	}
	_, err := e.s.Group(e.ctx, gone.ID)
	e.wantErr(err, backend.ErrNotFound, "Group of a done group whose members were all pruned")
	e.group(kept.ID)
	e.group(open.ID)
	if gs, _, _ := e.s.ListGroups(e.ctx, "", 0); len(gs) != 2 {
		e.t.Errorf("ListGroups after pruning = %d groups, want 2", len(gs))
	}
}

// testPruneSequentialLast: a sequential group's last member may be
// pruned while the group stays (here a schedule adds its runs to the
// group). The next member, by AddToGroup or Insert, still records the
// edge to it (a pruned dependency counts as completed: it is placed at
// once, even after a failure), while Dependents of the pruned member
// stays empty, as of any job that is not stored; the edge to the new last
// member is stored.
func testPruneSequentialLast(e *env) {
	g := newGroup(true, false)
	e.groups(g)
	s := newSchedule(at(60))
	s.Template.Group = g.ID
	if err := e.s.PutSchedule(e.ctx, s); err != nil {
		e.t.Fatal(err)
	}
	last := e.finished(model.Failed, at(1), inGroup(g.ID))
	if got, _ := e.s.Prune(e.ctx, at(2), 10); !slices.Equal(got, []string{last.ID}) {
		e.t.Fatalf("Prune = %v, want %v", got, []string{last.ID})
	}
	if gr := e.group(g.ID); gr.Last != last.ID {
		e.t.Fatalf("group's last member after pruning it = %q, want %s kept", gr.Last, last.ID)
	}
	held := e.insertP(backend.InsertParams{Now: at(3), Hold: true, Jobs: []*model.Job{newJob()}})[0]
	if _, err := e.s.AddToGroup(e.ctx, g.ID, []string{held.ID}, at(3)); err != nil {
		e.t.Fatalf("AddToGroup after the last member was pruned: %v", err)
	}
	want := []model.Dep{{ID: last.ID, Policy: model.DepCancel}}
	if j := e.job(held.ID); diff(want, j.DependsOn) != "" {
		e.t.Errorf("a member added after its predecessor was pruned depends on %v, want %v", j.DependsOn, want)
	}
	e.request(backend.RequestSubmit, held.ID, at(4))
	e.wantState(held.ID, model.Queued, "a member whose pruned predecessor had failed, submitted")
	next := e.one(at(5), inGroup(g.ID))
	if diff([]model.Dep{{ID: held.ID, Policy: model.DepCancel}}, next.DependsOn) != "" || next.State != model.Waiting {
		e.t.Errorf("the member after it: %s, depends on %v; want waiting for %s", next.State, next.DependsOn, held.ID)
	}
	check := func(when string) {
		e.t.Helper()
		if ds, err := e.s.Dependents(e.ctx, last.ID); err != nil || len(ds) != 0 {
			e.t.Errorf("Dependents of the pruned member %s = %v, %v; want none", when, ds, err)
		}
		want := []model.Dep{{ID: next.ID, Policy: model.DepCancel}}
		if ds, err := e.s.Dependents(e.ctx, held.ID); err != nil || diff(want, ds) != "" {
			e.t.Errorf("Dependents of the member added after it %s = %v, %v; want %v", when, ds, err, want)
		}
	}
	check("after two members joined")
	if e.reopen() {
		check("after reopening")
	}
}

// testPruneSequentialLastInsert is the case a random history found: the
// last member of a sequential group is canceled at once (a dependency
// failed) while an earlier member is still queued, so the group stays
// when the canceled member is pruned; the member inserted next records
// the edge to it, and Dependents of the pruned member stays empty.
func testPruneSequentialLastInsert(e *env) {
	g := newGroup(true, false)
	e.groups(g)
	first := e.one(at(1), inGroup(g.ID))
	failed := e.finished(model.Failed, at(1))
	last := e.one(at(1), inGroup(g.ID), dependsOn(model.DepCancel, failed.ID))
	e.wantCancelBy(last.ID, failed.ID, "a member whose dependency failed")
	if got, _ := e.s.Prune(e.ctx, at(2), 10); !slices.Equal(got, []string{failed.ID, last.ID}) {
		e.t.Fatalf("Prune = %v, want %v", got, []string{failed.ID, last.ID})
	}
	next := e.one(at(3), inGroup(g.ID))
	want := []model.Dep{{ID: last.ID, Policy: model.DepCancel}}
	if diff(want, next.DependsOn) != "" || next.State != model.Queued {
		e.t.Errorf("the member inserted after a pruned last member: %s, depends on %v; want queued, depending on %v", next.State, next.DependsOn, want)
	}
	if ds, err := e.s.Dependents(e.ctx, last.ID); err != nil || len(ds) != 0 {
		e.t.Errorf("Dependents of the pruned member = %v, %v; want none", ds, err)
	}
	if ms, _ := e.s.Members(e.ctx, g.ID); !slices.Equal(ms, []string{first.ID, next.ID}) {
		e.t.Errorf("Members = %v, want %v", ms, []string{first.ID, next.ID})
	}
}

func testPruneRefusals(e *env) {
	e.finished(model.Completed, at(1))
	for _, limit := range []int{0, -1} {
		e.unchanged("Prune with a limit below 1", func() {
			_, err := e.s.Prune(e.ctx, at(100), limit)
			e.wantErr(err, backend.ErrInvalid, "Prune with a limit below 1")
		})
	}
}
