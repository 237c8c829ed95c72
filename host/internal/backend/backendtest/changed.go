package backendtest

import (
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

var changedRules = []rule{
	{"Signalled", testChanged},
}

// signalWait bounds the wait for a signal that must come: a failure
// bound, not a synchronisation (a correct store has signalled before its
// write returned, or soon after for a shared backend's notification).
const signalWait = 10 * time.Second

// testChanged: Changed is signalled after every commit that made work
// claimable or asked something of a running attempt.
func testChanged(e *env) {
	drain := func() {
		for {
			select {
			case <-e.s.Changed():
			default:
				return
			}
		}
	}
	must := func(what string, fn func()) {
		e.t.Helper()
		drain()
		fn()
		select {
		case <-e.s.Changed():
		case <-time.After(signalWait):
			e.t.Errorf("Changed was not signalled after %s", what)
		}
	}
	var q, r *model.Job
	must("an insert that queued a job", func() { q = e.one(at(1)) })
	r = e.claimID(q.ID, "host-1", at(2))
	must("a cancel request for a running job", func() { e.request(backend.RequestCancel, q.ID, at(3)) })
	e.end(e.job(q.ID), model.Canceled, at(4))

	q = e.one(at(5))
	r = e.claimID(q.ID, "host-1", at(5))
	must("a pause request for a running job", func() { e.request(backend.RequestPause, q.ID, at(6)) })
	must("a resume request for a job paused while running", func() { e.request(backend.RequestResume, q.ID, at(7)) })
	must("a finish that queued a retry", func() { e.end(r, model.Queued, at(8)) })
	r = e.claimID(q.ID, "host-1", at(9))

	w := e.one(at(9), dependsOn(model.DepCancel, q.ID))
	must("a finish that released a dependent", func() { e.end(r, model.Completed, at(10)) })
	e.claimID(w.ID, "host-1", at(11))

	held := e.insertP(backend.InsertParams{Now: at(12), Hold: true, Jobs: []*model.Job{newJob()}})[0]
	must("a submit that queued a job", func() { e.request(backend.RequestSubmit, held.ID, at(13)) })
	p := e.one(at(14))
	e.request(backend.RequestPause, p.ID, at(14))
	must("a resume that queued a job", func() { e.request(backend.RequestResume, p.ID, at(15)) })

	g := newGroup(false, true)
	e.groups(g)
	e.one(at(16), inGroup(g.ID), withTask(taskB))
	e.one(at(16), inGroup(g.ID), withTask(taskDone))
	ra := e.claimQ("host-1", 1, at(17), map[string]int{taskB: 1})[0]
	e.claimQ("host-2", 1, at(17), map[string]int{taskDone: 1})
	must("a failure that asked a running group member to stop", func() { e.end(ra, model.Failed, at(18)) })
}
