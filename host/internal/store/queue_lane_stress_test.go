package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// TestLaneStressMixed runs claims (half through the lane, with Applied),
// finishes that re-queue, cancels, pauses and resumes, and inserts with
// dependencies, all at once; no attempt may be handed out while another
// handed-out attempt of the job is unfinished, what Applied handed out is
// what was stored, and after a reopen the running set matches the file.
func TestLaneStressMixed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	q, err := OpenQueue(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	held := map[string]int{}    // job -> attempt handed out and not finished
	lastAtt := map[string]int{} // job -> last attempt handed out
	var ids []string
	var errs []error
	report := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	deadline := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	// inserter
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(1, 2))
		for n := 0; time.Now().Before(deadline); n++ {
			j := qjob(fmt.Sprintf("j%06d", n), "t", model.Priority(r.IntN(3)-1))
			j.MaxAttempts = 4
			mu.Lock()
			if len(ids) > 0 && r.IntN(4) == 0 {
				j.DependsOn = []model.Dep{{ID: ids[r.IntN(len(ids))], Policy: model.DepIgnore}}
			}
			mu.Unlock()
			if _, err := q.Insert(ctx, backend.InsertParams{Now: time.Now(), Jobs: []*model.Job{j}}); err != nil {
				report(fmt.Errorf("insert: %w", err))
				return
			}
			mu.Lock()
			ids = append(ids, j.ID)
			mu.Unlock()
		}
	}()
	// requester
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(3, 4))
		for time.Now().Before(deadline) {
			mu.Lock()
			if len(ids) == 0 {
				mu.Unlock()
				runtime.Gosched() // the inserter has not made one yet
				continue
			}
			id := ids[r.IntN(len(ids))]
			mu.Unlock()
			kind := []backend.RequestKind{backend.RequestCancel, backend.RequestPause, backend.RequestResume, backend.RequestResume, backend.RequestRetry}[r.IntN(5)]
			_, _ = q.Request(ctx, backend.Request{Kind: kind, ID: id, Now: time.Now()})
		}
	}()
	// claimers
	for c := 0; c < 3; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(10+c), 5))
			for time.Now().Before(deadline) {
				p := backend.ClaimParams{Owner: "h1", Limit: 1 + r.IntN(3), Now: time.Now(), Quota: map[string]int{"t": 3}}
				var early []*model.Job
				check := func(js []*model.Job) {
					mu.Lock()
					defer mu.Unlock()
					for _, j := range js {
						if a, ok := held[j.ID]; ok {
							errs = append(errs, fmt.Errorf("job %s handed out as attempt %d while attempt %d is unfinished", j.ID, j.Attempt, a))
						}
						if j.Attempt <= lastAtt[j.ID] {
							errs = append(errs, fmt.Errorf("job %s handed out as attempt %d after attempt %d", j.ID, j.Attempt, lastAtt[j.ID]))
						}
						held[j.ID], lastAtt[j.ID] = j.Attempt, j.Attempt
					}
				}
				lane := c != 0
				if lane {
					p.Applied = func(js []*model.Job) { early = append(early, js...); check(js) }
				}
				js, err := q.Claim(ctx, p)
				if err != nil {
					report(fmt.Errorf("claim: %w", err))
					return
				}
				if !lane {
					check(js)
				} else if len(early) != len(js) {
					report(fmt.Errorf("Applied handed %d, claim answered %d", len(early), len(js)))
				}
				var fs []backend.Finish
				for _, j := range js {
					st := []model.State{model.Completed, model.Queued, model.Queued, model.Failed}[r.IntN(4)]
					fs = append(fs, backend.Finish{ID: j.ID, Owner: "h1", Attempt: j.Attempt, State: st, At: time.Now()})
				}
				if len(fs) == 0 {
					continue
				}
				mu.Lock()
				for _, f := range fs {
					delete(held, f.ID)
				}
				mu.Unlock()
				if _, err := q.Finish(ctx, fs); err != nil {
					report(fmt.Errorf("finish: %w", err))
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	t.Logf("%d jobs, %d lane claims", len(ids), q.laneClaims.Load())
	running := func(q *Queue) []string {
		rs, err := q.Running(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, j := range rs {
			out = append(out, fmt.Sprintf("%s/%d", j.ID, j.Attempt))
		}
		sort.Strings(out)
		return out
	}
	fileRunning := func(q *Queue) []string {
		var out []string
		for _, id := range ids {
			j, err := q.Job(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if runs(j) {
				out = append(out, fmt.Sprintf("%s/%d", j.ID, j.Attempt))
			}
		}
		sort.Strings(out)
		return out
	}
	before, file := running(q), fileRunning(q)
	if fmt.Sprint(before) != fmt.Sprint(file) {
		t.Errorf("running set %v, file %v", before, file)
	}
	// Every queued job is claimable exactly once, from the in-memory index.
	queued := map[string]bool{}
	for _, id := range ids {
		j, _ := q.Job(ctx, id)
		if j.State == model.Queued && j.RunAt.IsZero() {
			queued[id] = true
		}
	}
	for {
		js, err := q.Claim(ctx, backend.ClaimParams{Owner: "h2", Limit: 50, Now: time.Now(), Quota: map[string]int{"t": 50},
			Applied: func([]*model.Job) {}})
		if err != nil {
			t.Fatal(err)
		}
		if len(js) == 0 {
			break
		}
		for _, j := range js {
			if !queued[j.ID] {
				t.Errorf("claimed %s, which was not queued", j.ID)
			}
			delete(queued, j.ID)
		}
	}
	if len(queued) > 0 {
		t.Errorf("%d queued jobs not claimable", len(queued))
	}
	file = fileRunning(q)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q2 := openTestQueue(t, path)
	if after := running(q2); fmt.Sprint(after) != fmt.Sprint(file) {
		t.Errorf("running set after reopen %v, before %v", after, file)
	}
}
