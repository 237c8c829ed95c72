package backendtest

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// stallLimit bounds how long the concurrent claimers look for work that
// a correct store has made claimable; a failure bound, not a wait.
const stallLimit = 20 * time.Second

var concurrentRules = []rule{
	{"Claimers", testConcurrentClaimers},
	{"Firers", testConcurrentFirers},
	{"SameKey", testConcurrentKey},
	{"Deleters", testConcurrentDeleters},
}

// testConcurrentClaimers: several claimers (hosts) claiming and finishing
// at once never claim one job twice, and together claim every job; the
// retries among them come back once each.
func testConcurrentClaimers(e *env) {
	const (
		jobs     = 120
		claimers = 4
	)
	batch := make([]*model.Job, jobs)
	for i := range batch {
		batch[i] = newJob(withPriority(model.Priorities[i%4]))
	}
	e.insert(at(1), batch...)
	var (
		mu      sync.Mutex
		claims  = map[string][]string{} // job → "owner/attempt" of each claim
		errs    []error
		wg      sync.WaitGroup
		retried = map[string]bool{}
		done    int // completions committed
		// progressed is when a claim last took a job: claimers that find
		// nothing for stallLimit after it give up (a store that never
		// makes a retry claimable again must fail the test, not hang it).
		progressed = time.Now()
	)
	finished := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return done == jobs || len(errs) > 0
	}
	for c := range claimers {
		owner := fmt.Sprintf("host-%d", c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !finished() {
				p := backend.ClaimParams{Owner: owner, Limit: 1 + c%3, Now: at(2), Quota: allTasks()}
				// Half the claimers take their jobs early (Applied), as a
				// host does: what is handed over early is what is claimed.
				var early [][]*model.Job
				if c%2 == 1 {
					p.Applied = func(js []*model.Job) { early = append(early, cloneJobs(js)) }
				}
				js, err := e.s.Claim(e.ctx, p)
				if err == nil && c%2 == 1 {
					err = checkApplied(early, js)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: Claim: %w", owner, err))
					mu.Unlock()
					return
				}
				if len(js) == 0 {
					// The rest is claimed by others, or is a retry another
					// claimer has yet to commit.
					mu.Lock()
					stalled := time.Since(progressed) > stallLimit
					if stalled && len(errs) == 0 {
						errs = append(errs, fmt.Errorf("%d of %d jobs completed, and nothing was claimable for %s", done, jobs, stallLimit))
					}
					mu.Unlock()
					if stalled {
						return
					}
					runtime.Gosched()
					continue
				}
				var fs []backend.Finish
				mu.Lock()
				progressed = time.Now()
				for _, j := range js {
					claims[j.ID] = append(claims[j.ID], fmt.Sprintf("%s/%d", j.Owner, j.Attempt))
					st := model.Completed
					// Every fifth job is retried once, at once.
					if !retried[j.ID] && len(claims)%5 == 0 {
						retried[j.ID] = true
						st = model.Queued
					}
					fs = append(fs, backend.Finish{ID: j.ID, Owner: owner, Attempt: j.Attempt, State: st, At: at(3)})
				}
				mu.Unlock()
				c, err := e.s.Finish(e.ctx, fs)
				if err == nil && len(c.Skipped) > 0 {
					err = fmt.Errorf("finishes of its own claims skipped: %v", c.Skipped)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: Finish: %w", owner, err))
					mu.Unlock()
					return
				}
				mu.Lock()
				for _, f := range fs {
					if f.State == model.Completed {
						done++
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		e.t.Error(err)
	}
	for _, j := range batch {
		want := 1
		if retried[j.ID] {
			want = 2
		}
		if got := claims[j.ID]; len(got) != want {
			e.t.Errorf("job %s was claimed %d times (%v), want %d", j.ID, len(got), got, want)
		}
	}
	c, _ := e.s.Counts(e.ctx)
	if n := c.ByState()[model.Completed]; n != jobs {
		e.t.Errorf("%d jobs completed after the claimers stopped, want %d", n, jobs)
	}
	if len(retried) == 0 {
		e.t.Errorf("no job was retried: the test did not exercise re-claims")
	}
}

// testConcurrentFirers: hosts firing one schedule's time at once: exactly
// one wins, and one job is inserted.
func testConcurrentFirers(e *env) {
	const firers = 6
	s := newSchedule(at(60))
	if err := e.s.PutSchedule(e.ctx, s); err != nil {
		e.t.Fatal(err)
	}
	for round := range 3 {
		fireAt, next := at(float64(60*(round+1))), at(float64(60*(round+2)))
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			won   []string
			start = make(chan struct{})
		)
		for range firers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				j := newJob() // each host builds its own job (and id)
				<-start
				fr, err := e.s.Fire(e.ctx, backend.Fire{Schedule: s.ID, At: fireAt, Next: next, Job: j, Now: fireAt})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					e.t.Errorf("round %d: Fire: %v", round, err)
					return
				}
				if fr.Fired {
					won = append(won, j.ID)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(won) != 1 {
			e.t.Errorf("round %d: %d firers won the time %v, want exactly 1", round, len(won), fireAt)
			continue
		}
		sc, _ := e.s.Schedule(e.ctx, s.ID)
		if sc.LastJob != won[0] || !sc.NextFire.Equal(next) {
			e.t.Errorf("round %d: schedule last job %s next %v, want the winner's %s and %v", round, sc.LastJob, sc.NextFire, won[0], next)
		}
	}
	if c, _ := e.s.Counts(e.ctx); c.ByState()[model.Queued] != 3 {
		e.t.Errorf("%d jobs after 3 contested firings, want 3", c.ByState()[model.Queued])
	}
}

// testConcurrentKey: inserts racing with one idempotency key store one
// job; every racer is answered with it.
func testConcurrentKey(e *env) {
	const racers = 6
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		got   = map[string]int{}
		fresh int
		start = make(chan struct{})
	)
	for range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := newJob(withKey("raced"))
			<-start
			res, err := e.s.Insert(e.ctx, backend.InsertParams{Now: at(1), Jobs: []*model.Job{j}})
			ins := res.Jobs
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				e.t.Errorf("Insert racing on a key: %v", err)
				return
			}
			got[ins[0].Job.ID]++
			if !ins[0].Existing {
				fresh++
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(got) != 1 || fresh != 1 {
		e.t.Errorf("%d racers on one key were answered with jobs %v, %d of them as new; want one job, inserted once", racers, got, fresh)
	}
}

// testConcurrentDeleters: purgers, a deleter and a pruner racing over the
// same finished jobs delete each exactly once between them; a Delete that
// loses a job to another is refused whole (it deletes none of its jobs,
// or a job would be answered by nobody); live jobs stay, and groups keep
// their counts or go when done and empty.
func testConcurrentDeleters(e *env) {
	const n = 60
	gs := []*model.Group{newGroup(false, false), newGroup(false, false), newGroup(false, false)}
	e.groups(gs...)
	batch := make([]*model.Job, n)
	for i := range batch {
		batch[i] = newJob(withTask(taskDone), withPriority(model.Priorities[i%4]))
		if i%4 < len(gs) {
			batch[i].Group = gs[i%4].ID
		}
		if i%5 == 0 {
			batch[i].Key = fmt.Sprintf("deleted-%d", i)
		}
	}
	e.insert(at(1), batch...)
	claimed := e.claimQ("host-1", n, at(1), map[string]int{taskDone: n})
	if len(claimed) != n {
		e.t.Fatalf("Claim took %d of %d jobs", len(claimed), n)
	}
	var fs []backend.Finish
	for i, j := range claimed {
		st := []model.State{model.Completed, model.Failed, model.Canceled}[i%3]
		f := backend.Finish{ID: j.ID, Owner: j.Owner, Attempt: j.Attempt, State: st, At: at(2).Add(time.Duration(i) * time.Millisecond)}
		if st != model.Completed {
			f.Error = &model.JobError{Kind: "task_error", Message: "ended"}
		}
		fs = append(fs, f)
	}
	e.finish(fs...)
	live := e.one(at(3), inGroup(gs[0].ID))
	counted := e.group(gs[0].ID).Counts

	var (
		mu       sync.Mutex
		answered = map[string]int{}
		errs     []error
		wg       sync.WaitGroup
		start    = make(chan struct{})
	)
	record := func(who string, got []string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", who, err))
		}
		for _, id := range got {
			answered[id]++
		}
	}
	loop := func(who string, call func() ([]string, error), full int) {
		defer wg.Done()
		<-start
		for {
			got, err := call()
			record(who, got, err)
			if err != nil || len(got) < full {
				return
			}
		}
	}
	wg.Add(4)
	for i := range 2 {
		go loop(fmt.Sprintf("purger %d", i), func() ([]string, error) {
			return e.s.Purge(e.ctx, backend.PurgeFilter{Limit: 5})
		}, 5)
	}
	go loop("pruner", func() ([]string, error) { return e.s.Prune(e.ctx, at(1000), 4) }, 4)
	go func() {
		defer wg.Done()
		<-start
		// Newest first, three at a time: the others start with the oldest.
		for i := n; i > 0; i -= 3 {
			ids := ids(claimed[max(0, i-3):i])
			got, err := e.s.Delete(e.ctx, ids)
			if errors.Is(err, backend.ErrNotFound) {
				continue // another took one of them first: this call deleted none
			}
			if err == nil && !slices.Equal(got, ids) {
				err = fmt.Errorf("Delete(%v) answered %v, want the ids given", ids, got)
			}
			record("deleter", got, err)
		}
	}()
	close(start)
	wg.Wait()
	for {
		got, err := e.s.Purge(e.ctx, backend.PurgeFilter{Limit: backend.MaxLimit})
		record("the last purge", got, err)
		if err != nil || len(got) == 0 {
			break
		}
	}
	for _, err := range errs {
		e.t.Error(err)
	}
	for _, j := range claimed {
		if answered[j.ID] != 1 {
			e.t.Errorf("job %s was answered as deleted %d times, want once", j.ID, answered[j.ID])
		}
		e.wantGone(j.ID, "a job deleted by racing deleters")
	}
	if len(answered) != n {
		e.t.Errorf("%d ids answered, want the %d finished jobs only", len(answered), n)
	}
	if want := (backend.Counts{model.Queued: {model.Normal: 1}}); diff(want, e.counts()) != "" {
		e.t.Errorf("Counts after deleting every finished job = %v, want the live job only", e.counts())
	}
	if g := e.group(gs[0].ID); diff(counted, g.Counts) != "" || g.Size != n/4+1 {
		e.t.Errorf("the group with a live member: size %d counts %v, want size %d and counts %v", g.Size, g.Counts, n/4+1, counted)
	}
	if ms, _ := e.s.Members(e.ctx, gs[0].ID); len(ms) != 1 || ms[0] != live.ID {
		e.t.Errorf("Members of the group with a live member = %v, want %s", ms, live.ID)
	}
	for _, g := range gs[1:] {
		_, err := e.s.Group(e.ctx, g.ID)
		e.wantErr(err, backend.ErrNotFound, "Group of a done group whose members were all deleted")
	}
}

// checkApplied checks the calls of ClaimParams.Applied against the claim's
// answer: at most one call, and then with the jobs the claim answered.
func checkApplied(calls [][]*model.Job, answered []*model.Job) error {
	switch {
	case len(calls) > 1:
		return fmt.Errorf("Applied was called %d times for one claim", len(calls))
	case len(calls) == 0:
		return nil // the backend left it to the caller
	}
	if d := diff(answered, calls[0]); d != "" && !(len(answered) == 0 && len(calls[0]) == 0) {
		return fmt.Errorf("Applied was handed other jobs than the claim answered (-answered +handed):\n%s", d)
	}
	return nil
}

func cloneJobs(js []*model.Job) []*model.Job {
	out := make([]*model.Job, len(js))
	for i, j := range js {
		out[i] = j.Clone()
	}
	return out
}
