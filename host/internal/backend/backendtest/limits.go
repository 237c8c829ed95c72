package backendtest

import (
	"errors"
	"slices"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

var limitRules = []rule{
	{"MaxQueuedInsert", testMaxQueuedInsert},
	{"MaxQueuedRequest", testMaxQueuedRequest},
	{"PluginQuota", testPluginQuota},
	{"AnyTask", testAnyTask},
	{"Capacity", testCapacity},
	{"Step", testStep},
}

// testMaxQueuedInsert: an insert that would leave more than MaxQueued
// jobs queued is refused with ErrFull and changes nothing; held (created)
// jobs do not count.
func testMaxQueuedInsert(e *env) {
	e.insert(at(1), newJob(), newJob())
	e.unchanged("an insert over the queue limit", func() {
		_, err := e.s.Insert(e.ctx, backend.InsertParams{Now: at(2), MaxQueued: 2, Jobs: []*model.Job{newJob()}})
		if !errors.Is(err, backend.ErrFull) {
			e.t.Errorf("insert of a third job with MaxQueued 2: %v, want ErrFull", err)
		}
	})
	if _, err := e.s.Insert(e.ctx, backend.InsertParams{Now: at(3), MaxQueued: 2, Hold: true, Jobs: []*model.Job{newJob()}}); err != nil {
		e.t.Errorf("insert of a held job with 2 of 2 queued: %v (created jobs are not queued)", err)
	}
	if _, err := e.s.Insert(e.ctx, backend.InsertParams{Now: at(4), MaxQueued: 3, Jobs: []*model.Job{newJob()}}); err != nil {
		e.t.Errorf("insert of a third job with MaxQueued 3: %v", err)
	}
}

// testMaxQueuedRequest: a retry that would leave more than MaxQueued jobs
// queued is refused with ErrFull and changes nothing; one that fits
// passes.
func testMaxQueuedRequest(e *env) {
	failed := e.finished(model.Failed, at(2))
	e.insert(at(3), newJob())
	e.unchanged("a retry over the queue limit", func() {
		_, err := e.s.Request(e.ctx, backend.Request{Kind: backend.RequestRetry, ID: failed.ID, Now: at(4), MaxQueued: 1})
		if !errors.Is(err, backend.ErrFull) {
			e.t.Errorf("retry with 1 of 1 queued: %v, want ErrFull", err)
		}
	})
	if _, err := e.s.Request(e.ctx, backend.Request{Kind: backend.RequestRetry, ID: failed.ID, Now: at(5), MaxQueued: 2}); err != nil {
		e.t.Errorf("retry with 1 of 2 queued: %v", err)
	}
}

// testPluginQuota: a plugin's cap holds across its tasks, within each
// task's own quota.
func testPluginQuota(e *env) {
	const alphaOther = "alpha.other"
	a1 := e.one(at(1), withTask(taskA))
	o1 := e.one(at(2), withTask(alphaOther))
	e.one(at(3), withTask(taskA))
	b1 := e.one(at(4), withTask(taskB))
	js, err := e.s.Claim(e.ctx, backend.ClaimParams{Owner: "host-1", Limit: 10, Now: at(5),
		Quota: map[string]int{taskA: 5, alphaOther: 5, taskB: 5}, PluginQuota: map[string]int{"alpha": 2}})
	if err != nil {
		e.t.Fatalf("Claim: %v", err)
	}
	if want := []string{a1.ID, o1.ID, b1.ID}; !slices.Equal(ids(js), want) {
		e.t.Errorf("claim with plugin alpha capped at 2 took %v, want %v (the first two alpha jobs and beta's)", ids(js), want)
	}
}

// testAnyTask: jobs of tasks absent from Quota are claimed only within
// AnyTask (a host that alone serves its queue takes them to fail them as
// unknown tasks).
func testAnyTask(e *env) {
	const gone = "zeta.gone"
	g1 := e.one(at(1), withTask(gone))
	e.one(at(2), withTask(gone))
	a1 := e.one(at(3), withTask(taskA))
	if js := e.claimQ("host-1", 10, at(4), map[string]int{taskB: 5}); len(js) != 0 {
		e.t.Errorf("claim without AnyTask took %v (their tasks are absent from the quota)", ids(js))
	}
	js, err := e.s.Claim(e.ctx, backend.ClaimParams{Owner: "host-1", Limit: 10, Now: at(5), Quota: map[string]int{taskA: 5}, AnyTask: 1})
	if err != nil {
		e.t.Fatalf("Claim: %v", err)
	}
	if want := []string{g1.ID, a1.ID}; !slices.Equal(ids(js), want) {
		e.t.Errorf("claim with AnyTask 1 took %v, want %v (one job of the unlisted task, and alpha's)", ids(js), want)
	}
}

// testStep: one round finishes, records progress and claims in one
// call; a round may only record progress.
func testStep(e *env) {
	r1 := e.one(at(1))
	r2 := e.one(at(2))
	next := e.one(at(3))
	c := e.claim("host-1", 2, at(4))
	if len(c) != 2 {
		e.t.Fatalf("claimed %d jobs, want 2", len(c))
	}
	res, err := e.s.Step(e.ctx, backend.StepParams{
		Progress: []backend.ProgressUpdate{{ID: r2.ID, Owner: "host-1", Attempt: 1, Progress: model.Progress{Fraction: 0.5, Message: "half"}}},
	})
	if err != nil {
		e.t.Fatalf("Step with only progress: %v", err)
	}
	if len(res.Claimed) != 0 || len(res.Changes.Jobs) != 0 {
		e.t.Errorf("Step with only progress changed jobs %v, claimed %v", ids(res.Changes.Jobs), ids(res.Claimed))
	}
	if p := e.job(r2.ID).Progress; p.Fraction != 0.5 || p.Message != "half" {
		e.t.Errorf("progress after the Step: %+v", p)
	}
	res, err = e.s.Step(e.ctx, backend.StepParams{
		Finish: []backend.Finish{{ID: r1.ID, Owner: "host-1", Attempt: 1, State: model.Completed, At: at(5)}},
		Claim:  backend.ClaimParams{Owner: "host-1", Limit: 1, Now: at(5), Quota: allTasks()},
	})
	if err != nil {
		e.t.Fatalf("Step: %v", err)
	}
	if !slices.Contains(ids(res.Changes.Jobs), r1.ID) || e.job(r1.ID).State != model.Completed {
		e.t.Errorf("Step's finish: changes %v, stored %s", ids(res.Changes.Jobs), e.job(r1.ID).State)
	}
	if want := []string{next.ID}; !slices.Equal(ids(res.Claimed), want) {
		e.t.Errorf("Step claimed %v, want %v", ids(res.Claimed), want)
	}
}

func needs(cpu, mem int64) func(*model.Job) {
	return func(j *model.Job) { j.Resources = model.Resources{MilliCPU: cpu, MemoryMB: mem} }
}

// testCapacity: a claim with a Capacity takes jobs in claim order while
// their needs fit in what is free; the first that does not fit holds back
// every later job that needs any of what it lacks (of every task), jobs
// needing none of it go on, and a job beyond the whole capacity is left
// queued and holds nothing back (backend.Capacity). The needs are kept
// with the job.
func testCapacity(e *env) {
	total := model.Resources{MilliCPU: 2000, MemoryMB: 1000}
	z0 := e.one(at(0), withPriority(model.Critical)) // ahead of every job that declares needs
	huge := e.one(at(1), withPriority(model.Critical), needs(3000, 0))
	big := e.one(at(2), withPriority(model.High), needs(1500, 0))
	c1 := e.one(at(3), needs(1000, 0))
	z1 := e.one(at(4))
	m1 := e.one(at(5), withTask(taskB), needs(0, 600))
	cm := e.one(at(6), withTask(taskB), needs(500, 100))
	c2 := e.one(at(7), withTask(taskB), withPriority(model.Low), needs(100, 0))
	z2 := e.one(at(8), withTask(taskB), withPriority(model.Low))
	m2 := e.one(at(9), withPriority(model.Low), needs(0, 600))
	claim := func(now time.Time) []string {
		e.t.Helper()
		js, err := e.s.Claim(e.ctx, backend.ClaimParams{Owner: "host-1", Limit: 10, Now: now, Quota: allTasks(),
			Capacity: &backend.Capacity{Free: total, Total: total}})
		if err != nil {
			e.t.Fatalf("Claim: %v", err)
		}
		return ids(js)
	}
	// z0 needs nothing; big fits (0.5 CPU left); c1 does not and holds
	// back cm and c2 (they need CPU); z1, m1, z2 go on; m2 does not fit
	// the 400 MiB m1 leaves.
	if got, want := claim(at(10)), []string{z0.ID, big.ID, z1.ID, m1.ID, z2.ID}; !slices.Equal(got, want) {
		e.t.Errorf("first claim took %v, want %v (z0, big, z1, m1, z2)", got, want)
	}
	// With all free again (as if those ended): c1, cm, c2, m2.
	if got, want := claim(at(11)), []string{c1.ID, cm.ID, c2.ID, m2.ID}; !slices.Equal(got, want) {
		e.t.Errorf("second claim took %v, want %v (c1, cm, c2, m2)", got, want)
	}
	if got := claim(at(12)); len(got) != 0 {
		e.t.Errorf("third claim took %v, want none (huge is beyond the capacity)", got)
	}
	if j := e.job(huge.ID); j.State != model.Queued || j.Resources != (model.Resources{MilliCPU: 3000}) {
		e.t.Errorf("huge: %s needing %+v, want queued needing 3 CPUs", j.State, j.Resources)
	}
	if j := e.job(cm.ID); j.Resources != (model.Resources{MilliCPU: 500, MemoryMB: 100}) {
		e.t.Errorf("cm needs %+v as stored, want 0.5 CPU and 100 MiB", j.Resources)
	}
}
