package backendtest

import (
	"slices"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

var groupRules = []rule{
	{"CreatedByInsert", testGroupCreated},
	{"CountsAndOutcome", testGroupCounts},
	{"Sequential", testGroupSequential},
	{"CancelOnFailure", testGroupCancelOnFailure},
	{"AddToGroup", testAddToGroup},
	{"AddToGroupRefusals", testAddToGroupRefusals},
}

// testGroupCreated: Insert creates groups before its jobs; the store owns
// a group's size, last member, counts and finish time.
func testGroupCreated(e *env) {
	g := newGroup(true, true)
	g.Size, g.Last, g.Counts = 5, "bogus", map[model.State]int{model.Failed: 3}
	want := &model.Group{ID: g.ID, Name: g.Name, Sequential: true, CancelOnFailure: true, CreatedAt: g.CreatedAt}
	j := newJob(inGroup(g.ID))
	e.insertP(backend.InsertParams{Now: at(1), Groups: []*model.Group{g}, Jobs: []*model.Job{j}})
	want.Size, want.Last, want.Counts = 1, j.ID, map[model.State]int{model.Queued: 1}
	if d := diff(want, e.group(g.ID)); d != "" {
		e.t.Errorf("group created with its first member (-want +got):\n%s", d)
	}
	empty := newGroup(false, false)
	e.groups(empty)
	got := e.group(empty.ID)
	if got.Size != 0 || got.Done() || !got.FinishedAt.IsZero() {
		e.t.Errorf("an empty group: size %d done %v finished %v; want 0, not done, not finished", got.Size, got.Done(), got.FinishedAt)
	}
	if ms, err := e.s.Members(e.ctx, empty.ID); err != nil || len(ms) != 0 {
		e.t.Errorf("Members of an empty group = %v, %v", ms, err)
	}
	_, err := e.s.Members(e.ctx, newID())
	e.wantErr(err, backend.ErrNotFound, "Members of an unknown group")
	_, err = e.s.Group(e.ctx, newID())
	e.wantErr(err, backend.ErrNotFound, "Group of an unknown id")
	_, err = e.s.Group(e.ctx, "")
	e.wantErr(err, backend.ErrInvalid, "Group of an empty id")
}

// testGroupCounts: counts by state follow every member's change; the
// group is done, with a finish time, when every member is finished.
func testGroupCounts(e *env) {
	g := newGroup(false, false)
	e.groups(g)
	held := e.insertP(backend.InsertParams{Now: at(1), Hold: true, Jobs: []*model.Job{newJob(inGroup(g.ID))}})[0]
	a := e.one(at(1), inGroup(g.ID))
	b := e.one(at(1), inGroup(g.ID), withTask(taskB))
	check := func(when string, want map[model.State]int, done bool) {
		e.t.Helper()
		got := e.group(g.ID)
		if d := diff(want, got.Counts); d != "" {
			e.t.Errorf("group counts %s (-want +got):\n%s", when, d)
		}
		if got.Done() != done {
			e.t.Errorf("group %s: done = %v, want %v", when, got.Done(), done)
		}
		if done != !got.FinishedAt.IsZero() {
			e.t.Errorf("group %s: FinishedAt %v while done = %v", when, got.FinishedAt, done)
		}
	}
	check("after inserting", map[model.State]int{model.Created: 1, model.Queued: 2}, false)
	if ms, _ := e.s.Members(e.ctx, g.ID); !slices.Equal(ms, []string{held.ID, a.ID, b.ID}) {
		e.t.Errorf("Members = %v, want add order %v", ms, []string{held.ID, a.ID, b.ID})
	}
	ra := e.claimID(a.ID, "host-1", at(2))
	e.request(backend.RequestSubmit, held.ID, at(2))
	check("after a claim and a submit", map[model.State]int{model.Queued: 2, model.Running: 1}, false)
	e.request(backend.RequestPause, b.ID, at(3))
	ch := e.end(ra, model.Completed, at(4))
	if len(ch.Groups) != 1 || ch.Groups[0].ID != g.ID || diff(e.group(g.ID), ch.Groups[0]) != "" {
		e.t.Errorf("Changes.Groups of a member's finish = %v, want the group as stored", ch.Groups)
	}
	check("after pause and completion", map[model.State]int{model.Queued: 1, model.Paused: 1, model.Completed: 1}, false)
	e.request(backend.RequestCancel, held.ID, at(5))
	e.request(backend.RequestCancel, b.ID, at(6))
	check("when every member is finished", map[model.State]int{model.Completed: 1, model.Canceled: 2}, true)
	if got := e.group(g.ID); !got.FinishedAt.Equal(at(6)) || got.Outcome() != "partial" {
		e.t.Errorf("done group: finished %v outcome %q; want %v, partial", got.FinishedAt, got.Outcome(), at(6))
	}
	r := e.request(backend.RequestRetry, b.ID, at(7))
	check("after a member's retry", map[model.State]int{model.Completed: 1, model.Canceled: 1, model.Queued: 1}, false)
	if len(r.Changes.Groups) != 1 || r.Changes.Groups[0].ID != g.ID {
		e.t.Errorf("retry's Changes.Groups = %v, want the reopened group", r.Changes.Groups)
	}
}

// testGroupSequential: each member waits for the one added before it.
func testGroupSequential(e *env) {
	g := newGroup(true, false)
	m := e.insertP(backend.InsertParams{Now: at(1), Groups: []*model.Group{g}, Jobs: []*model.Job{
		newJob(inGroup(g.ID)), newJob(inGroup(g.ID)), newJob(inGroup(g.ID)),
	}})
	for i, want := range []model.State{model.Queued, model.Waiting, model.Waiting} {
		if m[i].State != want {
			e.t.Errorf("sequential member %d inserted %s, want %s", i+1, m[i].State, want)
		}
	}
	if want := []model.Dep{{ID: m[0].ID, Policy: model.DepCancel}}; diff(want, e.job(m[1].ID).DependsOn) != "" {
		e.t.Errorf("second member DependsOn %+v, want the first under the cancel policy", e.job(m[1].ID).DependsOn)
	}
	// A later insert waits for the last member.
	m4 := e.one(at(2), inGroup(g.ID))
	if got := e.job(m4.ID); got.State != model.Waiting || !slices.Contains(depIDs(got.DependsOn), m[2].ID) {
		e.t.Errorf("member added later: %s depending on %v, want waiting for %s", got.State, depIDs(got.DependsOn), m[2].ID)
	}
	r := e.claimID(m[0].ID, "host-1", at(3))
	if js := e.claim("host-1", 5, at(3)); len(js) != 0 {
		e.t.Errorf("claimed %v while the first member runs", ids(js))
	}
	e.end(r, model.Completed, at(4))
	r = e.claimID(m[1].ID, "host-1", at(5))
	e.end(r, model.Failed, at(6))
	e.wantCancelBy(m[2].ID, m[1].ID, "the member after a failed one")
	e.wantCancelBy(m4.ID, m[2].ID, "the member after that")
}

// testGroupCancelOnFailure: a failed member cancels every unfinished
// member, asking running ones to stop.
func testGroupCancelOnFailure(e *env) {
	g := newGroup(false, true)
	e.groups(g)
	done := e.one(at(1), inGroup(g.ID), withTask(taskB))
	rd := e.claimQ("host-1", 1, at(1), map[string]int{taskB: 1})[0]
	e.end(rd, model.Completed, at(1))
	failing := e.one(at(2), inGroup(g.ID), withTask(taskB))
	running := e.one(at(2), inGroup(g.ID), withTask(taskDone))
	queued := e.one(at(2), inGroup(g.ID))
	held := e.insertP(backend.InsertParams{Now: at(2), Hold: true, Jobs: []*model.Job{newJob(inGroup(g.ID))}})[0]
	outside := e.one(at(2), dependsOn(model.DepCancel, queued.ID))
	rr := e.claimQ("host-9", 1, at(3), map[string]int{taskDone: 1})[0]
	rf := e.claimQ("host-1", 1, at(3), map[string]int{taskB: 1})[0]
	if rf.ID != failing.ID || rr.ID != running.ID {
		e.t.Fatalf("claims took %s and %s", rf.ID, rr.ID)
	}
	ch := e.end(rf, model.Failed, at(4))
	why := GroupFailedError(failing.ID)
	for _, id := range []string{queued.ID, held.ID} {
		got := e.wantState(id, model.Canceled, "an unfinished member of a cancel-on-failure group whose member failed")
		if diff(why, got.Error) != "" {
			e.t.Errorf("member %s canceled with %+v, want %+v", id, got.Error, why)
		}
	}
	e.wantState(done.ID, model.Completed, "a completed member")
	e.wantCancelBy(outside.ID, queued.ID, "a job outside the group depending on a canceled member")
	got := e.wantState(running.ID, model.Running, "a running member (asked to stop, it ends through Finish)")
	if !got.CancelRequested || diff(why, got.Error) != "" {
		e.t.Errorf("running member: cancel-requested=%v error %+v; want true and %+v", got.CancelRequested, got.Error, why)
	}
	if len(ch.Stop) != 1 || ch.Stop[0].ID != running.ID || ch.Stop[0].Owner != "host-9" || !ch.Stop[0].CancelRequested {
		e.t.Errorf("Changes.Stop = %v, want the running member, owned by host-9, marked", ids(ch.Stop))
	}
	if e.group(g.ID).Done() {
		e.t.Errorf("the group is done while a member still runs")
	}
	e.end(got, model.Canceled, at(5))
	gr := e.group(g.ID)
	if !gr.Done() || gr.Outcome() != "partial" || !gr.FinishedAt.Equal(at(5)) {
		e.t.Errorf("group after the stopped member ended: done %v outcome %q finished %v; want true, partial, %v", gr.Done(), gr.Outcome(), gr.FinishedAt, at(5))
	}
	// A canceled member does not cancel the others.
	g2 := newGroup(false, true)
	e.groups(g2)
	a := e.one(at(6), inGroup(g2.ID))
	b := e.one(at(6), inGroup(g2.ID))
	e.request(backend.RequestCancel, a.ID, at(7))
	e.wantState(b.ID, model.Queued, "a member of a cancel-on-failure group whose other member was canceled")
}

// testAddToGroup: created jobs join in order, all or none; in a
// sequential group each waits for the one before; a done group reopens.
func testAddToGroup(e *env) {
	g := newGroup(true, false)
	e.groups(g)
	first := e.one(at(1), inGroup(g.ID), withTask(taskB))
	rf := e.claimQ("host-1", 1, at(1), map[string]int{taskB: 1})[0]
	e.end(rf, model.Completed, at(2))
	if !e.group(g.ID).Done() {
		e.t.Fatalf("group with its only member completed is not done")
	}
	pending := e.one(at(3), withTask(taskB))
	held := e.insertP(backend.InsertParams{Now: at(3), Hold: true, Jobs: []*model.Job{
		newJob(), newJob(), newJob(dependsOn(model.DepCancel, pending.ID)),
	}})
	a, b, w := held[0], held[1], held[2]
	c, err := e.s.AddToGroup(e.ctx, g.ID, []string{a.ID, b.ID, w.ID}, at(4))
	if err != nil {
		e.t.Fatalf("AddToGroup: %v", err)
	}
	gr := e.group(g.ID)
	if ms, _ := e.s.Members(e.ctx, g.ID); !slices.Equal(ms, []string{first.ID, a.ID, b.ID, w.ID}) {
		e.t.Errorf("Members = %v, want the first member then the added ones in order", ms)
	}
	if gr.Size != 4 || gr.Last != w.ID || gr.Done() || !gr.FinishedAt.IsZero() {
		e.t.Errorf("group after adding 3: size %d last %s done %v finished %v; want 4, %s, reopened", gr.Size, gr.Last, gr.Done(), gr.FinishedAt, w.ID)
	}
	if want := map[model.State]int{model.Completed: 1, model.Created: 3}; diff(want, gr.Counts) != "" {
		e.t.Errorf("group counts after adding (-want +got):\n%s", diff(want, gr.Counts))
	}
	if len(c.Groups) != 1 || c.Groups[0].ID != g.ID {
		e.t.Errorf("Changes.Groups = %v, want the group", c.Groups)
	}
	for i, pair := range [][2]string{{a.ID, first.ID}, {b.ID, a.ID}, {w.ID, b.ID}} {
		got := e.job(pair[0])
		if got.Group != g.ID || got.State != model.Created || !slices.Contains(depIDs(got.DependsOn), pair[1]) {
			e.t.Errorf("added job %d: group %q state %s deps %v; want %s, created, waiting for %s", i+1, got.Group, got.State, depIDs(got.DependsOn), g.ID, pair[1])
		}
	}
	// Submitted, they run one after the other.
	for _, id := range []string{a.ID, b.ID, w.ID} {
		e.request(backend.RequestSubmit, id, at(5))
	}
	e.wantState(a.ID, model.Queued, "the first added member, behind a completed one")
	e.wantState(b.ID, model.Waiting, "the second added member")
}

// testAddToGroupRefusals: bad input, jobs that are not created or are in
// a group, and cycles are refused, and nothing joins.
func testAddToGroupRefusals(e *env) {
	g := newGroup(true, false)
	other := newGroup(false, false)
	e.groups(g, other)
	last := e.one(at(1), inGroup(g.ID))
	hold := func(mods ...func(*model.Job)) *model.Job {
		return e.insertP(backend.InsertParams{Now: at(1), Hold: true, Jobs: []*model.Job{newJob(mods...)}})[0]
	}
	free := hold()
	dependent := hold(dependsOn(model.DepCancel, last.ID))
	member := hold(inGroup(other.ID))
	queued := e.one(at(1))
	waiting := e.one(at(1), dependsOn(model.DepCancel, last.ID))
	running := e.jobIn("running", 2)
	done := e.finished(model.Completed, at(3))
	paused := e.jobIn("paused-queued", 4)
	// Cycles: the last member waits for the joining job; or, among the
	// jobs joining an empty sequential group, an earlier one waits for a
	// later one (which will wait for it).
	g2, g3 := newGroup(true, false), newGroup(true, false)
	e.groups(g2, g3)
	free2 := hold()
	e.one(at(5), inGroup(g2.ID), dependsOn(model.DepCancel, free2.ID))
	later := hold()
	earlier := hold(dependsOn(model.DepCancel, later.ID))
	for _, tc := range []struct {
		name  string
		group string
		ids   []string
		want  error
	}{
		{"no group id", "", []string{free.ID}, backend.ErrInvalid},
		{"no jobs", g.ID, nil, backend.ErrInvalid},
		{"an empty job id", g.ID, []string{free.ID, ""}, backend.ErrInvalid},
		{"a job listed twice", g.ID, []string{free.ID, free.ID}, backend.ErrInvalid},
		{"an unknown group", newID(), []string{free.ID}, backend.ErrNotFound},
		{"an unknown job", g.ID, []string{free.ID, newID()}, backend.ErrNotFound},
		{"a job in another group", g.ID, []string{free.ID, member.ID}, backend.ErrState},
		{"a job already in the group", g.ID, []string{last.ID}, backend.ErrState},
		{"a running job", g.ID, []string{free.ID, running}, backend.ErrState},
		{"a finished job", g.ID, []string{free.ID, done.ID}, backend.ErrState},
		{"a paused job", g.ID, []string{free.ID, paused}, backend.ErrState},
		{"a queued job", g.ID, []string{free.ID, queued.ID}, backend.ErrState},
		{"a waiting job", g.ID, []string{free.ID, waiting.ID}, backend.ErrState},
		{"a job the last member waits for", g2.ID, []string{free2.ID}, backend.ErrConflict},
		{"a job waiting for one after it in the list", g3.ID, []string{earlier.ID, later.ID}, backend.ErrConflict},
	} {
		e.unchanged("AddToGroup with "+tc.name, func() {
			_, err := e.s.AddToGroup(e.ctx, tc.group, tc.ids, at(6))
			e.wantErr(err, tc.want, "AddToGroup with "+tc.name)
		})
	}
	// A job that already depends on the last member joins without a
	// second edge.
	if _, err := e.s.AddToGroup(e.ctx, g.ID, []string{dependent.ID}, at(7)); err != nil {
		e.t.Errorf("AddToGroup of a job already depending on the last member: %v", err)
	} else if got := e.job(dependent.ID); len(got.DependsOn) != 1 {
		e.t.Errorf("a job already depending on the last member got DependsOn %+v, want the one edge", got.DependsOn)
	}
}
