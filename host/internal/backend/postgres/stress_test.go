package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

// TestHostsRaceOnADAG: three hosts claim and finish (completed, failed
// or retried) a graph of dependent jobs in cancel-on-failure groups
// while a fourth cancels and retries jobs, so that cascades, requests
// and claims meet on the same rows (and deadlock, and are run again).
// When the queue is drained no job is left waiting for dependencies that
// all ended, every cascade cancel names a dependency that failed or was
// canceled, and the kept queue count is the queue's, before the drain
// and after.
func TestHostsRaceOnADAG(t *testing.T) {
	ctx := context.Background()
	cfg := freshConfig(t, testDatabase(t))
	const jobs, hosts = 150, 3
	r := rand.New(rand.NewPCG(1, 2))
	var groups []*model.Group
	for g := range 5 {
		groups = append(groups, &model.Group{ID: testID(10000 + g), Name: "g", CancelOnFailure: g%2 == 0, CreatedAt: sharedT0})
	}
	var batch []*model.Job
	for i := range jobs {
		j := &model.Job{ID: testID(i + 1), Task: "a.run", CreatedAt: sharedT0, MaxAttempts: 2, Priority: model.Priorities[r.IntN(4)]}
		for range r.IntN(3) {
			if i == 0 {
				break
			}
			d := testID(1 + r.IntN(i))
			if !hasDep(j.DependsOn, d) {
				p := model.DepCancel
				if r.IntN(3) == 0 {
					p = model.DepIgnore
				}
				j.DependsOn = append(j.DependsOn, model.Dep{ID: d, Policy: p})
			}
		}
		if r.IntN(2) == 0 {
			j.Group = groups[r.IntN(len(groups))].ID
		}
		batch = append(batch, j)
	}
	setup := openStore(t, cfg)
	if _, err := setup.Insert(ctx, backend.InsertParams{Now: sharedT0, Groups: groups, Jobs: batch}); err != nil {
		t.Fatal(err)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
		stop    = make(chan struct{})
		stopped bool
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
		if !stopped {
			stopped = true
			close(stop)
		}
	}
	for h := range hosts {
		s := openStore(t, cfg)
		owner := fmt.Sprintf("host-%d", h)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := rand.New(rand.NewPCG(uint64(h), 7))
			var fs []backend.Finish
			idle := 0
			for idle < 50 {
				select {
				case <-stop:
					return
				default:
				}
				res, err := s.Step(ctx, backend.StepParams{Finish: fs,
					Claim: backend.ClaimParams{Owner: owner, Limit: 3, Now: sharedT0, Quota: map[string]int{"a.run": 3}}})
				if err != nil {
					fail(fmt.Errorf("%s: Step: %w", owner, err))
					return
				}
				fs = fs[:0]
				if len(res.Claimed) == 0 {
					idle++
					continue
				}
				idle = 0
				for _, j := range res.Claimed {
					f := backend.Finish{ID: j.ID, Owner: owner, Attempt: j.Attempt, At: sharedT0, State: model.Completed}
					switch rr.IntN(10) {
					case 0:
						f.State, f.Error = model.Failed, &model.JobError{Kind: errkind.TaskError, Message: "broke"}
					case 1:
						f.State, f.Error = model.Queued, &model.JobError{Kind: errkind.TaskError, Message: "again", Retryable: true}
					}
					fs = append(fs, f)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := openStore(t, cfg)
		rr := rand.New(rand.NewPCG(9, 9))
		for range 150 {
			select {
			case <-stop:
				return
			default:
			}
			kind := backend.RequestCancel
			if rr.IntN(2) == 0 {
				kind = backend.RequestRetry
			}
			_, err := s.Request(ctx, backend.Request{Kind: kind, ID: testID(1 + rr.IntN(jobs)), Now: sharedT0})
			if err != nil && !isPortRefusal(err) {
				fail(fmt.Errorf("request: %w", err))
				return
			}
		}
	}()
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		return
	}
	checkQueueCount(t, cfg, "after the race")
	// Drain what the requests left queued, on one host.
	for {
		js, err := setup.Claim(ctx, backend.ClaimParams{Owner: "drain", Limit: 50, Now: sharedT0, Quota: map[string]int{"a.run": 50}})
		if err != nil {
			t.Fatal(err)
		}
		if len(js) == 0 {
			break
		}
		var fs []backend.Finish
		for _, j := range js {
			fs = append(fs, backend.Finish{ID: j.ID, Owner: "drain", Attempt: j.Attempt, At: sharedT0, State: model.Completed})
		}
		if _, err := setup.Finish(ctx, fs); err != nil {
			t.Fatal(err)
		}
	}
	checkQueueCount(t, cfg, "after the drain")
	all, _, err := setup.ListJobs(ctx, backend.JobFilter{Limit: backend.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]model.State{}
	for _, j := range all {
		state[j.ID] = j.State
	}
	for _, j := range all {
		switch {
		case j.State == model.Waiting:
			pending := false
			for _, d := range j.DependsOn {
				pending = pending || !state[d.ID].Terminal()
			}
			if !pending {
				t.Errorf("job %s is waiting for dependencies that all ended %v (a lost release)", j.ID, j.DependsOn)
			}
		case j.State == model.Queued || j.State == model.Running:
			t.Errorf("job %s is %s after the drain", j.ID, j.State)
		case j.State == model.Canceled && j.Error != nil && j.Error.Kind == errkind.DependencyFailed:
			if st := state[j.Error.Dependency]; st != model.Failed && st != model.Canceled {
				t.Errorf("job %s was canceled for dependency %s, which is %s", j.ID, j.Error.Dependency, st)
			}
		}
	}
}

// isPortRefusal reports whether err is the port refusing a request
// (a state or a missing job), not a failure.
func isPortRefusal(err error) bool {
	_, ok := err.(*storeError)
	return ok
}
