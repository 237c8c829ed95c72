package backendtest

import (
	"errors"
	"slices"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

var durableRules = []rule{
	{"ReopenKeepsEverything", testReopen},
	{"ReopenKeepsReadyOrder", testReopenOrder},
	{"Closed", testClosed},
}

// testReopen: after a reopen, everything acknowledged is there, running
// attempts included (rescue is the engine's decision, through Running).
func testReopen(e *env) {
	if e.h.Reopen == nil {
		e.t.Skip("the backend cannot reopen its data")
	}
	g := newGroup(true, true)
	e.groups(g)
	e.insert(at(1), newJob(inGroup(g.ID)), newJob(inGroup(g.ID)), newJob(withKey("durable")))
	e.finished(model.Failed, at(2))
	e.jobIn("running", 3)
	e.jobIn("paused-running", 4)
	e.jobIn("created", 5)
	e.jobIn("waiting", 6)
	if err := e.s.PutSchedule(e.ctx, newSchedule(at(60))); err != nil {
		e.t.Fatal(err)
	}
	if err := e.s.Progress(e.ctx, []backend.ProgressUpdate{}); err != nil {
		e.t.Fatal(err)
	}
	before := dump(e.t, e.s)
	runningBefore, _ := e.s.Running(e.ctx, nil)
	e.reopen()
	if d := diffDumps(before, dump(e.t, e.s)); d != "" {
		e.t.Errorf("the store differs after a reopen (-before +after):\n%s", d)
	}
	runningAfter, _ := e.s.Running(e.ctx, nil)
	if d := diff(runningBefore, runningAfter); d != "" {
		e.t.Errorf("Running differs after a reopen (-before +after):\n%s", d)
	}
	if id, err := e.s.JobByKey(e.ctx, "durable"); err != nil || id == "" {
		e.t.Errorf("JobByKey after a reopen: %q, %v", id, err)
	}
}

// testReopenOrder: the claim order, ties in ready time included, is the
// same after a reopen.
func testReopenOrder(e *env) {
	if e.h.Reopen == nil {
		e.t.Skip("the backend cannot reopen its data")
	}
	var want []string
	for i := range 4 {
		js := e.insert(at(1), newJob(), newJob())
		want = append(want, ids(js)...)
		if i == 1 {
			// Re-queued at the same instant: behind the others.
			p := e.one(at(0.5))
			e.request(backend.RequestPause, p.ID, at(1))
			e.request(backend.RequestResume, p.ID, at(1))
			want = append(want, p.ID)
		}
	}
	e.reopen()
	var got []string
	for {
		js := e.claim("host-1", 3, at(2))
		if len(js) == 0 {
			break
		}
		got = append(got, ids(js)...)
	}
	if !slices.Equal(got, want) {
		e.t.Errorf("claim order after a reopen\n %v\nwant the order the jobs were made ready in\n %v", got, want)
	}
}

// testClosed: a closed store refuses every call with ErrClosed.
func testClosed(e *env) {
	j := e.one(at(1))
	if err := e.s.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	_, err := e.s.Job(e.ctx, j.ID)
	e.wantErr(err, backend.ErrClosed, "Job after Close")
	_, err = e.s.Insert(e.ctx, backend.InsertParams{Now: at(2), Jobs: []*model.Job{newJob()}})
	e.wantErr(err, backend.ErrClosed, "Insert after Close")
	_, err = e.s.Claim(e.ctx, backend.ClaimParams{Owner: "h", Limit: 1, Now: at(2), Quota: allTasks()})
	e.wantErr(err, backend.ErrClosed, "Claim after Close")
	if errors.Is(err, backend.ErrInvalid) {
		e.t.Errorf("Claim after Close is also ErrInvalid")
	}
	err = e.s.Heartbeat(e.ctx, backend.HostInfo{Owner: "h"}, at(2), time.Second)
	e.wantErr(err, backend.ErrClosed, "Heartbeat after Close")
	_, err = e.s.Lead(e.ctx, "h", at(2), time.Second)
	e.wantErr(err, backend.ErrClosed, "Lead after Close")
	_, err = e.s.Hosts(e.ctx, at(2))
	e.wantErr(err, backend.ErrClosed, "Hosts after Close")
}
