package backendtest

import (
	"slices"
	"strings"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

var deleteRules = []rule{
	{"FinishedJobsAndCounts", testDeleteFinished},
	{"AllOrNone", testDeleteAllOrNone},
	{"Refusals", testDeleteRefusals},
	{"WhatGoesWithAJob", testDeleteRefs},
	{"DependencyOfWaitingJobs", testDeleteDependency},
	{"Groups", testDeleteGroups},
	{"SequentialLastMember", testDeleteSequentialLast},
}

// delete calls Delete, which must succeed, and checks its answer: the ids
// given, in that order.
func (e *env) delete(ids ...string) {
	e.t.Helper()
	got, err := e.s.Delete(e.ctx, ids)
	if err != nil || !slices.Equal(got, ids) {
		e.t.Fatalf("Delete(%v) = %v, %v; want the ids given", ids, got, err)
	}
}

// wantGone checks that job id is no longer stored.
func (e *env) wantGone(id, why string) {
	e.t.Helper()
	_, err := e.s.Job(e.ctx, id)
	e.wantErr(err, backend.ErrNotFound, why+": Job "+id)
}

// wantNames checks that an error's message names each of words (an id,
// a state), as the port's errors must for a user to act on them.
func (e *env) wantNames(err error, what string, words ...string) {
	e.t.Helper()
	for _, w := range words {
		if err == nil || !strings.Contains(err.Error(), w) {
			e.t.Errorf("%s: error %v does not name %q", what, err, w)
		}
	}
}

// counts reads Counts without the zeros a store may list.
func (e *env) counts() backend.Counts {
	e.t.Helper()
	c, err := e.s.Counts(e.ctx)
	if err != nil {
		e.t.Fatalf("Counts: %v", err)
	}
	out := backend.Counts{}
	for st, byp := range c {
		for p, n := range byp {
			if n != 0 {
				if out[st] == nil {
					out[st] = map[model.Priority]int{}
				}
				out[st][p] = n
			}
		}
	}
	return out
}

// testDeleteFinished: Delete takes completed, failed and canceled jobs,
// answers their ids in the order given, and takes them out of Counts (by
// state and priority), durably.
func testDeleteFinished(e *env) {
	c := e.finished(model.Completed, at(1), withPriority(model.High))
	f := e.finished(model.Failed, at(2), withPriority(model.Low))
	x := e.finished(model.Canceled, at(3))
	c2 := e.finished(model.Completed, at(4))
	live := e.one(at(5), withPriority(model.Critical))
	e.delete(f.ID, c.ID)
	e.wantGone(c.ID, "a deleted completed job")
	e.wantGone(f.ID, "a deleted failed job")
	want := backend.Counts{
		model.Completed: {model.Normal: 1},
		model.Canceled:  {model.Normal: 1},
		model.Queued:    {model.Critical: 1},
	}
	check := func(when string) {
		e.t.Helper()
		if d := diff(want, e.counts()); d != "" {
			e.t.Errorf("Counts %s (-want +got):\n%s", when, d)
		}
		if js, _, err := e.s.ListJobs(e.ctx, backend.JobFilter{}); err != nil || !slices.Equal(ids(js), []string{live.ID, c2.ID, x.ID}) {
			e.t.Errorf("ListJobs %s = %v, %v; want %v", when, ids(js), err, []string{live.ID, c2.ID, x.ID})
		}
	}
	check("after deleting a completed and a failed job")
	if e.reopen() {
		check("after reopening")
		e.wantGone(f.ID, "a deleted job, after reopening")
	}
	e.delete(x.ID)
	want = backend.Counts{model.Completed: {model.Normal: 1}, model.Queued: {model.Critical: 1}}
	check = func(when string) {
		e.t.Helper()
		if d := diff(want, e.counts()); d != "" {
			e.t.Errorf("Counts %s (-want +got):\n%s", when, d)
		}
	}
	check("after deleting a canceled job")
	e.wantState(live.ID, model.Queued, "a live job beside the deleted ones")
	_, err := e.s.Delete(e.ctx, []string{x.ID})
	e.wantErr(err, backend.ErrNotFound, "Delete of a job deleted before")
}

// testDeleteAllOrNone: a job that is not finished, in any of the five
// live states (paused from queued and from running alike), refuses the
// whole call with ErrState naming it and its state; nothing is deleted.
func testDeleteAllOrNone(e *env) {
	f1 := e.finished(model.Completed, at(1))
	f2 := e.finished(model.Failed, at(1))
	queued := e.one(at(2))
	waiting := e.one(at(2), dependsOn(model.DepCancel, queued.ID))
	held := e.insertP(backend.InsertParams{Now: at(2), Hold: true, Jobs: []*model.Job{newJob()}})[0]
	running := e.one(at(2), withTask(taskB))
	if js := e.claimQ("host-1", 1, at(3), map[string]int{taskB: 1}); len(js) != 1 || js[0].ID != running.ID {
		e.t.Fatalf("Claim of %s = %v, want %s", taskB, ids(js), running.ID)
	}
	pausedRunning := e.one(at(2), withTask(taskB))
	if js := e.claimQ("host-1", 1, at(3), map[string]int{taskB: 1}); len(js) != 1 || js[0].ID != pausedRunning.ID {
		e.t.Fatalf("Claim of %s = %v, want %s", taskB, ids(js), pausedRunning.ID)
	}
	e.request(backend.RequestPause, pausedRunning.ID, at(3))
	paused := e.one(at(2))
	e.request(backend.RequestPause, paused.ID, at(3))
	for _, u := range []struct {
		id    string
		state model.State
	}{
		{queued.ID, model.Queued}, {waiting.ID, model.Waiting}, {held.ID, model.Created},
		{running.ID, model.Running}, {pausedRunning.ID, model.Paused}, {paused.ID, model.Paused},
	} {
		e.wantState(u.id, u.state, "the job Delete must refuse")
		what := "Delete of two finished jobs and one " + string(u.state)
		e.unchanged(what, func() {
			got, err := e.s.Delete(e.ctx, []string{f1.ID, u.id, f2.ID})
			e.wantErr(err, backend.ErrState, what)
			e.wantNames(err, what, u.id, string(u.state))
			if len(got) != 0 {
				e.t.Errorf("%s answered ids %v with its error", what, got)
			}
		})
	}
	e.delete(f1.ID, f2.ID)
}

// testDeleteRefusals: an unknown id is ErrNotFound naming it; no ids, an
// empty id, an id given twice, more ids than MaxLimit are ErrInvalid; of
// several faults the first in the order given is reported. Nothing
// changes.
func testDeleteRefusals(e *env) {
	f := e.finished(model.Completed, at(1))
	q := e.one(at(2))
	unknown := newID()
	many := make([]string, backend.MaxLimit+1)
	for i := range many {
		many[i] = newID()
	}
	for _, c := range []struct {
		what  string
		ids   []string
		want  error
		names []string
	}{
		{"Delete of an unknown job beside a finished one", []string{f.ID, unknown}, backend.ErrNotFound, []string{unknown}},
		{"Delete of an unknown job, then a queued one", []string{unknown, q.ID}, backend.ErrNotFound, []string{unknown}},
		{"Delete of a queued job, then an unknown one", []string{q.ID, unknown}, backend.ErrState, []string{q.ID, string(model.Queued)}},
		{"Delete of no ids", nil, backend.ErrInvalid, nil},
		{"Delete of an empty id", []string{f.ID, ""}, backend.ErrInvalid, nil},
		{"Delete of an id given twice", []string{f.ID, q.ID, f.ID}, backend.ErrInvalid, []string{f.ID}},
		{"Delete of more than MaxLimit ids", many, backend.ErrInvalid, nil},
	} {
		e.unchanged(c.what, func() {
			got, err := e.s.Delete(e.ctx, c.ids)
			e.wantErr(err, c.want, c.what)
			e.wantNames(err, c.what, c.names...)
			if len(got) != 0 {
				e.t.Errorf("%s answered ids %v with its error", c.what, got)
			}
		})
	}
}

// testDeleteRefs: with a deleted job go its key, its edges both ways and
// its membership, as with a pruned one; the group keeps its history.
func testDeleteRefs(e *env) {
	g := newGroup(false, false)
	e.groups(g)
	dep := e.finished(model.Completed, at(1))
	j := e.finished(model.Failed, at(2), withKey("deleted-key"), inGroup(g.ID), dependsOn(model.DepCancel, dep.ID))
	keep := e.one(at(3), inGroup(g.ID), dependsOn(model.DepIgnore, j.ID))
	e.delete(j.ID)
	_, err := e.s.JobByKey(e.ctx, "deleted-key")
	e.wantErr(err, backend.ErrNotFound, "JobByKey of a deleted job's key")
	again := e.one(at(4), withKey("deleted-key"))
	if id, _ := e.s.JobByKey(e.ctx, "deleted-key"); id != again.ID {
		e.t.Errorf("a deleted job's key, inserted again, names %q, want the new job %s", id, again.ID)
	}
	if ds, err := e.s.Dependents(e.ctx, dep.ID); err != nil || len(ds) != 0 {
		e.t.Errorf("Dependents of the deleted job's dependency = %v, %v; want none", ds, err)
	}
	if ds, err := e.s.Dependents(e.ctx, j.ID); err != nil || len(ds) != 0 {
		e.t.Errorf("Dependents of the deleted job = %v, %v; want none", ds, err)
	}
	if k := e.job(keep.ID); diff([]model.Dep{{ID: j.ID, Policy: model.DepIgnore}}, k.DependsOn) != "" {
		e.t.Errorf("the deleted job's dependent depends on %v, want the deleted job kept", k.DependsOn)
	}
	if ms, _ := e.s.Members(e.ctx, g.ID); !slices.Equal(ms, []string{keep.ID}) {
		e.t.Errorf("Members after deleting one = %v, want %v", ms, []string{keep.ID})
	}
	if gr := e.group(g.ID); gr.Size != 2 || gr.Counts[model.Failed] != 1 || gr.Counts[model.Queued] != 1 {
		e.t.Errorf("group after deleting a member: size %d counts %v; want its history kept (size 2, 1 failed, 1 queued)", gr.Size, gr.Counts)
	}
	if js, _, _ := e.s.ListJobs(e.ctx, backend.JobFilter{Group: g.ID}); !slices.Equal(ids(js), []string{keep.ID}) {
		e.t.Errorf("ListJobs of the group = %v, want %v", ids(js), []string{keep.ID})
	}
	if js, _, _ := e.s.ListJobs(e.ctx, backend.JobFilter{States: []model.State{model.Failed}}); len(js) != 0 {
		e.t.Errorf("ListJobs of failed jobs = %v, want none", ids(js))
	}
}

// testDeleteDependency: deleting a finished dependency changes no other
// job's state (a job waiting for another dependency keeps waiting); the
// dependents keep the edge in DependsOn and, placed later, count the
// deleted dependency as completed even though it failed: a held job
// submitted, a job it had canceled retried, a job paused while waiting
// resumed.
func testDeleteDependency(e *env) {
	open := e.one(at(1), withTask(taskB))
	failed := e.finished(model.Failed, at(1))
	waiting := e.one(at(2), dependsOn(model.DepIgnore, failed.ID), dependsOn(model.DepCancel, open.ID))
	held := e.insertP(backend.InsertParams{Now: at(2), Hold: true, Jobs: []*model.Job{newJob(dependsOn(model.DepCancel, failed.ID))}})[0]
	canceled := e.one(at(2), dependsOn(model.DepCancel, failed.ID))
	e.wantCancelBy(canceled.ID, failed.ID, "a job whose dependency had failed")
	paused := e.one(at(2), dependsOn(model.DepIgnore, failed.ID), dependsOn(model.DepCancel, open.ID))
	e.request(backend.RequestPause, paused.ID, at(2))
	before := map[string]*model.Job{}
	for _, id := range []string{open.ID, waiting.ID, held.ID, canceled.ID, paused.ID} {
		before[id] = e.job(id)
	}

	e.delete(failed.ID)
	for id, b := range before {
		if d := diff(b, e.job(id)); d != "" {
			e.t.Errorf("job %s changed when its dependency was deleted (-before +after):\n%s", id, d)
		}
	}
	if ds, err := e.s.Dependents(e.ctx, failed.ID); err != nil || len(ds) != 0 {
		e.t.Errorf("Dependents of the deleted dependency = %v, %v; want none", ds, err)
	}
	e.request(backend.RequestSubmit, held.ID, at(3))
	e.wantState(held.ID, model.Queued, "submit of a job whose failed dependency was deleted")
	e.request(backend.RequestRetry, canceled.ID, at(3))
	e.wantState(canceled.ID, model.Queued, "retry of a job canceled by a dependency since deleted")
	e.wantState(waiting.ID, model.Waiting, "a job still waiting for another dependency")
	j := e.claimQ("host-1", 1, at(4), map[string]int{taskB: 1})
	if len(j) != 1 || j[0].ID != open.ID {
		e.t.Fatalf("Claim of %s = %v, want %s", taskB, ids(j), open.ID)
	}
	e.end(j[0], model.Completed, at(5))
	e.wantState(waiting.ID, model.Queued, "a job whose other dependency completed, beside a deleted one")
	e.wantState(paused.ID, model.Paused, "a job paused while waiting, its dependencies done")
	e.request(backend.RequestResume, paused.ID, at(6))
	e.wantState(paused.ID, model.Queued, "resume of a job whose failed dependency was deleted")
}

// testDeleteGroups: a group stays while it has members, is not done, or a
// schedule's template names it; deleting its last member of a done group
// deletes it, as Prune does.
func testDeleteGroups(e *env) {
	gone, kept, open := newGroup(false, false), newGroup(false, false), newGroup(false, true)
	e.groups(gone, kept, open)
	a := e.finished(model.Completed, at(1), inGroup(gone.ID))
	b := e.finished(model.Failed, at(1), inGroup(gone.ID))
	c := e.finished(model.Completed, at(1), inGroup(kept.ID))
	d := e.finished(model.Completed, at(1), inGroup(open.ID))
	live := e.one(at(1), inGroup(open.ID))
	s := newSchedule(at(60))
	s.Template.Group = kept.ID
	if err := e.s.PutSchedule(e.ctx, s); err != nil {
		e.t.Fatal(err)
	}
	e.delete(a.ID)
	if gr := e.group(gone.ID); gr.Size != 2 || gr.Counts[model.Completed] != 1 || gr.Counts[model.Failed] != 1 || !gr.Done() {
		e.t.Errorf("a done group after deleting one of two members: size %d counts %v done %v; want size 2, 1 completed, 1 failed, done", gr.Size, gr.Counts, gr.Done())
	}
	if ms, _ := e.s.Members(e.ctx, gone.ID); !slices.Equal(ms, []string{b.ID}) {
		e.t.Errorf("Members = %v, want %v", ms, []string{b.ID})
	}
	e.delete(b.ID, c.ID, d.ID)
	_, err := e.s.Group(e.ctx, gone.ID)
	e.wantErr(err, backend.ErrNotFound, "Group of a done group whose members were all deleted")
	if ms, err := e.s.Members(e.ctx, kept.ID); err != nil || len(ms) != 0 {
		e.t.Errorf("Members of a group a schedule names, its one member deleted = %v, %v; want none", ms, err)
	}
	if gr := e.group(kept.ID); gr.Size != 1 || gr.Counts[model.Completed] != 1 {
		e.t.Errorf("a group a schedule names, its member deleted: size %d counts %v; want size 1, 1 completed", gr.Size, gr.Counts)
	}
	if ms, _ := e.s.Members(e.ctx, open.ID); !slices.Equal(ms, []string{live.ID}) {
		e.t.Errorf("Members of a group with a live member = %v, want %v", ms, []string{live.ID})
	}
	check := func(when string) {
		e.t.Helper()
		if gs, _, _ := e.s.ListGroups(e.ctx, "", 0); len(gs) != 2 {
			e.t.Errorf("ListGroups %s = %d groups, want 2", when, len(gs))
		}
	}
	check("after deleting")
	if e.reopen() {
		check("after reopening")
	}
}

// testDeleteSequentialLast: a sequential group's deleted last member stays
// its Last, as a pruned one does: the next member depends on it and, since
// it is not stored, counts it as completed (it is queued at once though
// the member had failed).
func testDeleteSequentialLast(e *env) {
	g := newGroup(true, false)
	e.groups(g)
	s := newSchedule(at(60))
	s.Template.Group = g.ID
	if err := e.s.PutSchedule(e.ctx, s); err != nil {
		e.t.Fatal(err)
	}
	last := e.finished(model.Failed, at(1), inGroup(g.ID))
	e.delete(last.ID)
	if gr := e.group(g.ID); gr.Last != last.ID {
		e.t.Fatalf("group's last member after deleting it = %q, want %s kept", gr.Last, last.ID)
	}
	next := e.one(at(2), inGroup(g.ID))
	if diff([]model.Dep{{ID: last.ID, Policy: model.DepCancel}}, next.DependsOn) != "" || next.State != model.Queued {
		e.t.Errorf("the member inserted after a deleted last member: %s, depends on %v; want queued, depending on %s", next.State, next.DependsOn, last.ID)
	}
	if ds, err := e.s.Dependents(e.ctx, last.ID); err != nil || len(ds) != 0 {
		e.t.Errorf("Dependents of the deleted member = %v, %v; want none", ds, err)
	}
}
