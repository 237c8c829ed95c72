package backendtest

import (
	"time"

	"slices"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

var readRules = []rule{
	{"ListFilters", testListFilters},
	{"ListPaging", testListPaging},
	{"ListRefusals", testListRefusals},
	{"CountsMatchList", testCountsMatchList},
	{"Running", testRunning},
	{"PointReads", testPointReads},
	{"OldestReady", testOldestReady},
}

// testOldestReady: per priority, when the claimable job that has waited
// longest became ready (max(QueuedAt, RunAt)); jobs not due yet, running,
// waiting or finished do not count, and a priority with none is absent.
func testOldestReady(e *env) {
	if got := e.oldest(at(0)); len(got) != 0 {
		e.t.Errorf("OldestReady of an empty store: %v", got)
	}
	e.one(at(5), withPriority(model.High))
	first := e.one(at(3), withPriority(model.High), runAt(at(4))) // ready at 4
	e.one(at(2), withPriority(model.Low))
	e.one(at(1), withPriority(model.Critical), runAt(at(50))) // not due by 10
	run := e.one(at(1), withPriority(model.Normal), withTask(taskB))
	if got := e.claimQ("host-1", 1, at(6), map[string]int{taskB: 1}); len(got) != 1 || got[0].ID != run.ID {
		e.t.Fatalf("claim of beta took %v, want %s", ids(got), run.ID) // running: not ready
	}
	dep := e.one(at(7), withPriority(model.Normal))
	e.insert(at(8), newJob(withPriority(model.Normal), func(j *model.Job) { j.DependsOn = []model.Dep{{ID: dep.ID, Policy: model.DepCancel}} }))
	got := e.oldest(at(10))
	want := map[model.Priority]time.Time{model.High: at(4), model.Low: at(2), model.Normal: at(7)}
	if d := diff(want, got); d != "" {
		e.t.Errorf("OldestReady at 10 (-want +got):\n%s", d)
	}
	// The oldest leaves the queue: the next one is the oldest.
	e.request(backend.RequestCancel, first.ID, at(11))
	if got := e.oldest(at(12))[model.High]; !got.Equal(at(5)) {
		e.t.Errorf("OldestReady of high after its oldest was canceled: %v, want %v", got, at(5))
	}
	if got := e.oldest(at(60))[model.Critical]; !got.Equal(at(50)) {
		e.t.Errorf("OldestReady of critical at 60: %v, want its run-at %v", got, at(50))
	}
}

// testListFilters: each filter, alone and combined, selects exactly the
// jobs it names, newest first.
func testListFilters(e *env) {
	g := newGroup(false, false)
	e.groups(g)
	a := e.one(at(1), withPriority(model.High), func(j *model.Job) { j.Labels = map[string]string{"team": "docs"} })
	b := e.one(at(1), withTask(taskB), inGroup(g.ID), func(j *model.Job) { j.Labels = map[string]string{"team": "ops"} })
	c := e.finished(model.Failed, at(2), withPriority(model.Low))
	d := e.one(at(3), inGroup(g.ID), withPriority(model.High))
	e.request(backend.RequestPause, d.ID, at(3))
	all := []string{d.ID, c.ID, b.ID, a.ID}
	tests := []struct {
		name string
		f    backend.JobFilter
		want []string
	}{
		{"no filter", backend.JobFilter{}, all},
		{"state queued", backend.JobFilter{States: []model.State{model.Queued}}, []string{b.ID, a.ID}},
		{"states paused or failed", backend.JobFilter{States: []model.State{model.Failed, model.Paused}}, []string{d.ID, c.ID}},
		{"task", backend.JobFilter{Task: taskB}, []string{b.ID}},
		{"group", backend.JobFilter{Group: g.ID}, []string{d.ID, b.ID}},
		{"priority high", backend.JobFilter{Priorities: []model.Priority{model.High}}, []string{d.ID, a.ID}},
		{"priorities low or normal", backend.JobFilter{Priorities: []model.Priority{model.Low, model.Normal}}, []string{c.ID, b.ID}},
		{"label key=value", backend.JobFilter{Label: "team=docs"}, []string{a.ID}},
		{"label key", backend.JobFilter{Label: "team"}, []string{b.ID, a.ID}},
		{"label with no such value", backend.JobFilter{Label: "team=none"}, nil},
		{"search in the error message, any case", backend.JobFilter{Search: "IT BROKE"}, []string{c.ID}},
		{"search in the task", backend.JobFilter{Search: "Beta"}, []string{b.ID}},
		{"search in the id", backend.JobFilter{Search: a.ID[24:]}, []string{a.ID}},
		{"group and priority", backend.JobFilter{Group: g.ID, Priorities: []model.Priority{model.High}}, []string{d.ID}},
		{"state and task", backend.JobFilter{States: []model.State{model.Queued}, Task: taskA}, []string{a.ID}},
		{"before a cursor", backend.JobFilter{Before: c.ID}, []string{b.ID, a.ID}},
	}
	for _, tc := range tests {
		js, next, err := e.s.ListJobs(e.ctx, tc.f)
		if err != nil {
			e.t.Errorf("ListJobs with %s: %v", tc.name, err)
			continue
		}
		if !slices.Equal(ids(js), tc.want) && !(len(js) == 0 && len(tc.want) == 0) {
			e.t.Errorf("ListJobs with %s = %v, want %v", tc.name, ids(js), tc.want)
		}
		if next != "" {
			e.t.Errorf("ListJobs with %s: next %q on the only page", tc.name, next)
		}
	}
}

// testListPaging: pages of any size cover every job once, newest first;
// the last page's cursor is "".
func testListPaging(e *env) {
	var want []string
	for i := range 25 {
		j := e.one(at(float64(i)), withPriority(model.Priorities[i%4]))
		want = append([]string{j.ID}, want...)
	}
	for _, size := range []int{1, 7, 25, 100} {
		var got []string
		pages := 0
		for cur := ""; ; pages++ {
			js, next, err := e.s.ListJobs(e.ctx, backend.JobFilter{Before: cur, Limit: size})
			if err != nil {
				e.t.Fatalf("ListJobs page %d of size %d: %v", pages, size, err)
			}
			if len(js) > size {
				e.t.Errorf("page of size %d has %d jobs", size, len(js))
			}
			got = append(got, ids(js)...)
			if next == "" {
				break
			}
			if next != js[len(js)-1].ID {
				e.t.Errorf("page of size %d: next cursor %s, want the page's last id %s", size, next, js[len(js)-1].ID)
			}
			if cur != "" && next >= cur {
				e.t.Fatalf("page of size %d before %s: next cursor %s is not older; paging would never end", size, cur, next)
			}
			cur = next
		}
		if !slices.Equal(got, want) {
			e.t.Errorf("pages of size %d gave %v, want %v", size, got, want)
		}
		if wantPages := (25 + size - 1) / size; pages+1 != wantPages {
			e.t.Errorf("pages of size %d: %d pages, want %d (no empty last page)", size, pages+1, wantPages)
		}
	}
	if js, _, _ := e.s.ListJobs(e.ctx, backend.JobFilter{}); len(js) != 25 {
		e.t.Errorf("limit 0 gave %d jobs, want all 25 (default %d)", len(js), backend.DefaultLimit)
	}
	// Paging through a filter.
	js, next, _ := e.s.ListJobs(e.ctx, backend.JobFilter{Priorities: []model.Priority{model.Critical}, Limit: 3})
	rest, last, _ := e.s.ListJobs(e.ctx, backend.JobFilter{Priorities: []model.Priority{model.Critical}, Limit: 3, Before: next})
	if len(js) != 3 || len(rest) != 3 || last != "" {
		e.t.Errorf("6 critical jobs in pages of 3: %d then %d (next %q), want 3, 3 and no cursor", len(js), len(rest), last)
	}
}

// testListRefusals: bad filters are ErrInvalid; an unknown group is
// ErrNotFound.
func testListRefusals(e *env) {
	e.one(at(1))
	for _, tc := range []struct {
		name string
		f    backend.JobFilter
		want error
	}{
		{"a negative limit", backend.JobFilter{Limit: -1}, backend.ErrInvalid},
		{"a limit above the maximum", backend.JobFilter{Limit: backend.MaxLimit + 1}, backend.ErrInvalid},
		{"an unknown state", backend.JobFilter{States: []model.State{"sleeping"}}, backend.ErrInvalid},
		{"an unknown priority", backend.JobFilter{Priorities: []model.Priority{9}}, backend.ErrInvalid},
		{"a label without key", backend.JobFilter{Label: "=x"}, backend.ErrInvalid},
		{"a cursor that is not an id", backend.JobFilter{Before: "zzz"}, backend.ErrInvalid},
		{"an upper-case cursor", backend.JobFilter{Before: "01234567-89AB-7DEF-8123-456789ABCDEF"}, backend.ErrInvalid},
		{"an unknown group", backend.JobFilter{Group: newID()}, backend.ErrNotFound},
	} {
		_, _, err := e.s.ListJobs(e.ctx, tc.f)
		e.wantErr(err, tc.want, "ListJobs with "+tc.name)
	}
	for _, tc := range []struct {
		name   string
		before string
		limit  int
	}{{"a negative limit", "", -1}, {"a limit above the maximum", "", backend.MaxLimit + 1}, {"a cursor that is not an id", "x", 1}} {
		_, _, err := e.s.ListGroups(e.ctx, tc.before, tc.limit)
		e.wantErr(err, backend.ErrInvalid, "ListGroups with "+tc.name)
	}
}

// testCountsMatchList: Counts agrees with ListJobs for every state and
// priority.
func testCountsMatchList(e *env) {
	for i := range 12 {
		e.one(at(float64(i)), withPriority(model.Priorities[i%4]))
	}
	e.finished(model.Failed, at(20), withPriority(model.Critical))
	e.finished(model.Completed, at(20))
	e.jobIn("running", 21)
	e.jobIn("paused-queued", 22)
	e.jobIn("created", 23)
	e.jobIn("waiting", 24)
	counts, err := e.s.Counts(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	total := 0
	for _, st := range model.States {
		for _, p := range model.Priorities {
			js, _, err := e.s.ListJobs(e.ctx, backend.JobFilter{States: []model.State{st}, Priorities: []model.Priority{p}, Limit: backend.MaxLimit})
			if err != nil {
				e.t.Fatal(err)
			}
			if counts[st][p] != len(js) {
				e.t.Errorf("Counts[%s][%s] = %d, ListJobs finds %d", st, p, counts[st][p], len(js))
			}
			total += len(js)
		}
	}
	if all, _, _ := e.s.ListJobs(e.ctx, backend.JobFilter{Limit: backend.MaxLimit}); total != len(all) || total != 19 {
		e.t.Errorf("jobs by state and priority sum to %d; ListJobs finds %d; want 19", total, len(all))
	}
}

// testRunning: Running lists the running (and paused-while-running) jobs
// of owners that are not alive.
func testRunning(e *env) {
	a := e.one(at(1))
	e.claimID(a.ID, "host-a", at(1))
	b := e.one(at(2))
	e.claimID(b.ID, "host-b", at(2))
	e.request(backend.RequestPause, b.ID, at(3))
	e.one(at(4))
	tests := []struct {
		alive []string
		want  []string
	}{
		{nil, []string{a.ID, b.ID}},
		{[]string{"host-a"}, []string{b.ID}},
		{[]string{"host-b", "host-z"}, []string{a.ID}},
		{[]string{"host-a", "host-b"}, nil},
	}
	for _, tc := range tests {
		js, err := e.s.Running(e.ctx, tc.alive)
		if err != nil {
			e.t.Fatal(err)
		}
		got := ids(js)
		slices.Sort(got)
		if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			e.t.Errorf("Running(alive %v) = %v, want %v", tc.alive, got, tc.want)
		}
	}
}

// testPointReads: empty ids are ErrInvalid, unknown ones ErrNotFound.
func testPointReads(e *env) {
	_, err := e.s.Job(e.ctx, "")
	e.wantErr(err, backend.ErrInvalid, "Job of an empty id")
	_, err = e.s.Job(e.ctx, newID())
	e.wantErr(err, backend.ErrNotFound, "Job of an unknown id")
	_, err = e.s.JobByKey(e.ctx, "")
	e.wantErr(err, backend.ErrInvalid, "JobByKey of an empty key")
	_, err = e.s.Members(e.ctx, "")
	e.wantErr(err, backend.ErrInvalid, "Members of an empty id")
}
