package engine

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/ratelimit"
	"github.com/batchhost/batchhost/host/internal/store"
)

// The rate tests run the engine on a fake clock that moves only from one
// wake-up the engine arms to the next: a token the engine does not wake
// for is never used, and every start time is exact. Their workers
// outnumber their jobs, so that only rates decide when a job starts.

var rateT0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

type rateRig struct {
	*rig
	clk *fakeClock
}

func newRateRig(t *testing.T, workers int, rates map[string]string) *rateRig {
	return newRateRigOn(t, workers, rates, 50*time.Millisecond, nil)
}

// newRateRigOn is newRateRig with a poll interval, and a wrapper of the
// store the engine sees (nil: none).
func newRateRigOn(t *testing.T, workers int, rates map[string]string, poll time.Duration, wrap func(backend.Store) backend.Store) *rateRig {
	t.Helper()
	q, err := store.OpenQueue(filepath.Join(t.TempDir(), "q.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var st backend.Store = q
	if wrap != nil {
		st = wrap(q)
	}
	rs := map[string]ratelimit.Rate{}
	for name, s := range rates {
		r, err := ratelimit.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		rs[name] = r
	}
	clk := newFakeClock(rateT0)
	rg := &rig{q: q, r: &fakeRunner{tasks: []string{"t.a", "t.b", "u.c"}},
		obs: &events{states: map[string][]model.State{}, changed: make(chan struct{}, 1)}}
	rg.e = New(Config{Owner: "host-1", MaxWorkers: workers, Rates: rs,
		PollInterval: poll, Clock: clk, Observer: rg.obs}, st, rg.r)
	if err := rg.e.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	go rg.e.Run()
	t.Cleanup(func() { rg.close(t) })
	return &rateRig{rig: rg, clk: clk}
}

// jobs inserts n jobs of each task, interleaved, that end at once.
func (rr *rateRig) jobs(t *testing.T, n int, tasks ...string) []*model.Job {
	t.Helper()
	var js []*model.Job
	for i := 0; i < n; i++ {
		for _, task := range tasks {
			js = append(js, job(task, model.Normal, fakeArgs{}))
		}
	}
	rr.insert(t, js...)
	return js
}

// drive runs a round (the claims due now are made), then moves the clock
// to the engine's next wake-up, until no wake-up is armed or the next is
// after end; it returns the wake-ups it followed.
func (rr *rateRig) drive(end time.Time) []time.Time {
	var woke []time.Time
	for {
		rr.e.Round()
		next, ok := rr.clk.NextTimer()
		if !ok || next.After(end) {
			return woke
		}
		woke = append(woke, next)
		rr.clk.Set(next)
	}
}

// starts stops the engine (its attempts end and every claim is durable)
// and returns when each started job of tasks started, in order.
func (rr *rateRig) starts(t *testing.T, js []*model.Job, tasks ...string) []time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := rr.e.Stop(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	var out []time.Time
	for _, j := range js {
		if !slices.Contains(tasks, j.Task) {
			continue
		}
		got, err := rr.q.Job(context.Background(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Attempt > 0 {
			out = append(out, got.StartedAt)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// checkWindows fails when some window between two starts holds more
// than rate×window + burst of them.
func checkWindows(t *testing.T, what string, starts []time.Time, perSecond float64, burst int) {
	t.Helper()
	for i := range starts {
		for j := i; j < len(starts); j++ {
			w := starts[j].Sub(starts[i]).Seconds()
			if n, limit := float64(j-i+1), perSecond*w+float64(burst); n > limit+1e-9 {
				t.Fatalf("%s: %v starts within %.3fs (from %v), at most %v allowed", what, n, w, starts[i].Sub(rateT0), limit)
			}
		}
	}
}

func sinceT0(ts []time.Time) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, at := range ts {
		out[i] = at.Sub(rateT0)
	}
	return out
}

func TestRatedTaskStartsAtItsRateWhileOtherTasksRunFreely(t *testing.T) {
	rr := newRateRig(t, 256, map[string]string{"t.a": "10/s:3"})
	rated := rr.jobs(t, 80, "t.a")
	rr.e.Start()
	rr.drive(rateT0.Add(2 * time.Second))

	// t.a ran out of tokens; the engine waits for the next one.
	now := rr.clk.Now()
	next, _ := rr.clk.NextTimer()
	want := []Throttle{{Name: "t.a", Next: next}}
	if got := rr.e.Status().Throttled; !slices.Equal(got, want) || !next.After(now) {
		t.Fatalf("at %v throttled %v, want %v", now.Sub(rateT0), got, want)
	}
	// Unrated tasks start at once, the clock standing still.
	others := rr.jobs(t, 10, "t.b", "u.c")
	for _, j := range others {
		got := rr.wait(t, j.ID)
		if got.State != model.Completed || !got.StartedAt.Equal(now) {
			t.Fatalf("unrated %s: %s, started at %v, want at %v (while t.a is throttled)", j.Task, got.State, got.StartedAt.Sub(rateT0), now.Sub(rateT0))
		}
	}

	end := rateT0.Add(5 * time.Second)
	rr.drive(end)
	starts := rr.starts(t, rated, "t.a")
	checkWindows(t, "t.a at 10/s:3", starts, 10, 3)
	in := 0
	for _, at := range starts {
		if !at.After(end) {
			in++
		}
	}
	// The burst, then one every 100ms: 3 + 50 within [0, 5s].
	if in-3 < 40 {
		t.Fatalf("%d starts of t.a within 5s at 10/s:3 (burst 3): below 80%% of the rate; starts %v", in, sinceT0(starts))
	}
}

func TestRatedTaskStartsWhenEachTokenIsDueAndTheWakeUpsStop(t *testing.T) {
	rr := newRateRig(t, 8, map[string]string{"t.a": "2.5/s"}) // one every 400ms
	js := rr.jobs(t, 4, "t.a")
	rr.e.Start()
	woke := rr.drive(rateT0.Add(time.Hour))
	// After the last start the engine wakes once more (the bucket had
	// no token; the work might have been waiting), then no more.
	if want := []time.Duration{400 * time.Millisecond, 800 * time.Millisecond, 1200 * time.Millisecond, 1600 * time.Millisecond}; !slices.Equal(sinceT0(woke), want) {
		t.Fatalf("woke at %v, want %v", sinceT0(woke), want)
	}
	if th := rr.e.Status().Throttled; len(th) != 0 {
		t.Fatalf("throttled %v with its token back", th)
	}
	got := sinceT0(rr.starts(t, js, "t.a"))
	if want := []time.Duration{0, 400 * time.Millisecond, 800 * time.Millisecond, 1200 * time.Millisecond}; !slices.Equal(got, want) {
		t.Fatalf("started at %v, want %v", got, want)
	}
}

func TestPluginRateCapsTheSumOfItsTasks(t *testing.T) {
	rr := newRateRig(t, 256, map[string]string{"t": "8/s:2", "t.b": "2/s"})
	js := rr.jobs(t, 60, "t.a", "t.b")
	free := rr.jobs(t, 20, "u.c")
	rr.e.Start()
	end := rateT0.Add(5 * time.Second)
	rr.drive(end)
	plugin := rr.starts(t, js, "t.a", "t.b")
	checkWindows(t, "plugin t at 8/s:2", plugin, 8, 2)
	checkWindows(t, "t.b at 2/s within plugin t", rr.starts(t, js, "t.b"), 2, 1)
	if len(plugin)-2 < 32 { // 80% of 8/s over 5s
		t.Fatalf("%d starts of plugin t within 5s at 8/s:2: below 80%% of the rate", len(plugin))
	}
	if a := len(rr.starts(t, js, "t.a")); a < len(plugin)/2 {
		t.Fatalf("t.a (unrated itself) got %d of plugin t's %d starts", a, len(plugin))
	}
	for _, at := range rr.starts(t, free, "u.c") {
		if !at.Equal(rateT0) {
			t.Fatalf("u.c (another plugin, unrated) started at %v, not at once", at.Sub(rateT0))
		}
	}
}

// TestConcurrentClaimsNeverSpendATokenTwice: inserts claim from their
// callers' goroutines while the loop claims too; with the clock standing
// still, no more than the burst may start.
func TestConcurrentClaimsNeverSpendATokenTwice(t *testing.T) {
	rr := newRateRig(t, 256, map[string]string{"t.a": "1/s:3", "t": "100/s:5"})
	batches := make([][]*model.Job, 8)
	var all []*model.Job
	for i := range batches {
		for k := 0; k < 5; k++ {
			batches[i] = append(batches[i], job("t.a", model.Normal, fakeArgs{}), job("t.b", model.Normal, fakeArgs{}))
		}
		all = append(all, batches[i]...)
	}
	rr.e.Start()
	var wg sync.WaitGroup
	for _, b := range batches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := rr.e.Insert(context.Background(), backend.InsertParams{Jobs: b}); err != nil {
				t.Error(err)
			}
			rr.e.Round()
		}()
	}
	wg.Wait()
	rr.e.Round()
	if got := rr.starts(t, all, "t.a"); len(got) != 3 {
		t.Fatalf("%d jobs of t.a started at one instant with a burst of 3", len(got))
	}
	if got := rr.starts(t, all, "t.a", "t.b"); len(got) != 5 {
		t.Fatalf("%d jobs of plugin t started at one instant with a burst of 5", len(got))
	}
}

// hintless is a store whose change signal never comes: a backend's
// signal is only a hint (PostgreSQL's may be late or lost).
type hintless struct{ backend.Store }

func (hintless) Changed() <-chan struct{} { return nil }

// TestAnInsertThatSpendsTheTokensWakesTheLoopForTheNext: a claim made by
// Insert (not by the loop) that empties a bucket must still get the loop
// to arm its wake-up for the next token, with no poll and no hint from
// the store to do it.
func TestAnInsertThatSpendsTheTokensWakesTheLoopForTheNext(t *testing.T) {
	rr := newRateRigOn(t, 8, map[string]string{"t.a": "2.5/s"}, time.Hour, func(s backend.Store) backend.Store { return hintless{s} })
	rr.e.Start()
	js := []*model.Job{job("t.a", model.Normal, fakeArgs{Release: "go", Quiet: true}), job("t.a", model.Normal, fakeArgs{Release: "go", Quiet: true})}
	rr.insert(t, js...) // claims the first; the second waits for a token
	token := rateT0.Add(400 * time.Millisecond)
	deadline := time.After(10 * time.Second)
	for at, ok := rr.clk.NextTimer(); !ok || !at.Equal(token); at, ok = rr.clk.NextTimer() {
		select {
		case <-rr.clk.armed:
		case <-deadline:
			t.Fatalf("the engine armed no wake-up for the token due at 400ms (armed: %v at %v)", ok, at.Sub(rateT0))
		}
	}
	rr.clk.Set(token)
	rr.waitFor(t, func() bool { return rr.e.Status().Busy == 2 })
	close(rr.r.gate("go"))
	for i, j := range js {
		if got := rr.wait(t, j.ID); !got.StartedAt.Equal(rateT0.Add(time.Duration(i) * 400 * time.Millisecond)) {
			t.Fatalf("job %d started at %v", i, got.StartedAt.Sub(rateT0))
		}
	}
}
