package host_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/hosttest"
)

// Regression tests for defects a review of the engine proved with failing
// tests.

// A job released by a failed dependency (ignore policy), paused, then
// resumed after the dependency was retried but before it finished, goes
// back to waiting — and must be woken when the dependency completes.
func TestResumeAfterDependencyRetryWaitsAndWakes(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	d := submit(t, h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 1, "permanent": true}})
	j := submit(t, h, host.JobSpec{Task: "chaos.noop", Delay: time.Hour, DependsOn: []host.Dep{{Job: d, Policy: host.DepIgnore}}})
	if got := wait(t, h, d); got.State != host.StateFailed {
		t.Fatalf("d %s", got.State)
	}
	if got, _ := h.Get(ctx, j); got.State != host.StateQueued {
		t.Fatalf("j %s, want queued (ignore policy)", got.State)
	}
	for _, step := range []func() error{
		func() error { return h.Pause(ctx, j) },
		func() error { return h.PauseDispatch(ctx) },
		func() error { return h.Retry(ctx, d) },
		func() error { return h.Resume(ctx, j) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := h.Get(ctx, j); got.State != host.StateWaiting {
		t.Fatalf("j %s after resume, want waiting for the retried d", got.State)
	}
	h.ResumeDispatch(ctx)
	if got := wait(t, h, d); got.State != host.StateCompleted {
		t.Fatalf("d %s after retry", got.State)
	}
	// d's completion and the release it causes share one commit, which
	// Wait waited for.
	if got, _ := h.Get(ctx, j); got.State != host.StateQueued {
		t.Fatalf("j is %s with its only dependency completed", got.State)
	}
}

// Events of one job arrive in the order they happened: log records do not
// overtake progress and state changes.
func TestJobEventsKeepTheirOrder(t *testing.T) {
	h, _ := openHost(t, nil)
	rec := record(t, h, host.EventFilter{})
	id := submit(t, h, host.JobSpec{Task: "chaos.progress", Args: map[string]int{"steps": 20, "ms": 1}})
	evs := rec.until(t, stateEvent(id, host.StateCompleted))
	var seq []string
	for _, e := range evs {
		if e.Job != id {
			continue
		}
		switch e.Type {
		case host.EventJobProgress:
			seq = append(seq, "P")
		case host.EventJobLog:
			seq = append(seq, "L")
		case host.EventJobState:
			seq = append(seq, string(e.State))
		}
	}
	want := "queued running" + strings.Repeat(" P L", 20) + " completed"
	if got := strings.Join(seq, " "); got != want {
		t.Fatalf("events of one job out of order:\n got %s\nwant %s", got, want)
	}
}

// A delayed job that is due but waits for a worker must not keep the next
// schedule firing from being armed.
func TestScheduleArmedWhileADueJobWaitsForAWorker(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	clk := hosttest.NewClock(t0)
	h, _ := openHost(t, func(c *host.Config) {
		c.Clock = clk
		c.MaxWorkers = 1
		c.PollInterval = time.Hour // the fallback tick plays no part
	})
	ctx := ctxT(t)
	states := record(t, h, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	sched := scheduleEvents(t, h)
	busy := submit(t, h, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 60000}})
	states.until(t, stateEvent(busy, host.StateRunning))
	submit(t, h, host.JobSpec{Task: "chaos.noop", Delay: time.Minute})
	id, err := h.CreateSchedule(ctx, host.ScheduleSpec{Name: "s", Cron: "@every 10m", Overlap: host.OverlapAllow,
		Job: host.JobSpec{Task: "chaos.noop"}})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := h.GetSchedule(ctx, id)
	fireAt := s.Next[0]
	clk.Set(t0.Add(2 * time.Minute)) // the delayed job is due; the only worker is busy
	h.Stats(ctx)                     // round trips: the engine has handled the timer
	h.Stats(ctx)
	if next, armed := clk.NextTimer(); !armed || next.After(fireAt) {
		t.Fatalf("armed timer %v %v; want the schedule's %v", armed, next, fireAt)
	}
	clk.Set(fireAt)
	sched.until(t, func(e host.Event) bool { return e.Schedule == id && e.Job != "" })
	h.Cancel(ctx, busy)
}

// Missed-run policy none: a downtime that swallowed exactly one firing
// fires nothing either.
func TestMissedNoneSkipsASingleMissedRun(t *testing.T) {
	clk := hosttest.NewClock(time.Date(2026, 6, 1, 10, 30, 0, 0, time.UTC))
	h, cfg := openHost(t, func(c *host.Config) { c.Clock = clk })
	ctx := ctxT(t)
	if _, err := h.CreateSchedule(ctx, host.ScheduleSpec{Name: "hourly", Cron: "0 * * * *", TimeZone: "UTC",
		Missed: host.MissedNone, Job: host.JobSpec{Task: "chaos.noop"}}); err != nil {
		t.Fatal(err)
	}
	closeHost(t, h)
	clk.Advance(time.Hour) // down from 10:30 to 11:30: the 11:00 run is missed
	h = reopen(t, cfg)
	if jobs, _, _ := h.List(ctx, host.ListFilter{}); len(jobs) != 0 {
		t.Fatalf("missed-run policy none fired %d run(s) (fire time %s)", len(jobs), jobs[0].Labels[host.LabelFireTime])
	}
}

// Members of a sequential group wait for the member before them, so they
// do not count against the queue limit.
func TestSequentialMembersDoNotCountAgainstTheQueueLimit(t *testing.T) {
	h, _ := openHost(t, func(c *host.Config) { c.MaxQueueSize = 1 })
	ctx := ctxT(t)
	h.PauseDispatch(ctx)
	g, _ := h.CreateGroup(ctx, host.GroupSpec{Name: "seq", Sequential: true})
	specs := make([]host.JobSpec, 10)
	for i := range specs {
		specs[i] = host.JobSpec{Task: "chaos.noop", Group: g}
	}
	if _, err := h.SubmitMany(ctx, specs); err != nil {
		t.Fatalf("10 sequential members (1 queued, 9 waiting), limit 1: %v", err)
	}
	if _, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", Group: g}); err != nil {
		t.Fatalf("one more member (it would wait): %v", err)
	}
	if _, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop"}); !errors.Is(err, host.ErrQueueFull) {
		t.Fatalf("a second ready job: %v, want ErrQueueFull", err)
	}
}

// What WaitGroup returns as done, and the job an existing idempotency key
// resolves to, are on disk when the call returns — even while the store's
// writer is busy with a large commit.
func TestRepliesWaitForTheCommitsInFlight(t *testing.T) {
	h, _ := openHost(t, func(c *host.Config) { c.MaxQueueSize = 1 << 20 })
	ctx := ctxT(t)
	for round := range 3 {
		g, _ := h.CreateGroup(ctx, host.GroupSpec{Name: "g"})
		member, _ := h.Create(ctx, host.JobSpec{Task: "chaos.noop", Group: g})
		specs := make([]host.JobSpec, 5000)
		for i := range specs {
			specs[i] = host.JobSpec{Task: "chaos.noop", Priority: host.PriorityLow, Delay: time.Hour}
		}
		specs[len(specs)-1].Key = "key-" + string(rune('a'+round))
		big := make(chan []string, 1)
		go func() {
			ids, err := h.SubmitMany(ctx, specs)
			if err != nil {
				t.Error(err)
			}
			big <- ids
		}()
		for s, _ := h.Stats(ctx); s.QueueDepth["low"] < len(specs)*(round+1); s, _ = h.Stats(ctx) {
		}
		// The engine holds the batch; its commit may still be in flight.
		id, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", Key: specs[len(specs)-1].Key})
		if err != nil {
			t.Fatal(err)
		}
		if st, err := host.DurableJobState(h, id); err != nil || st != host.StateQueued {
			t.Fatalf("round %d: Submit with an existing key returned %s before it was on disk: %s %v", round, id, st, err)
		}
		go h.CancelGroup(ctx, g)
		for j, _ := h.Get(ctx, member); !j.Done(); j, _ = h.Get(ctx, member) {
		}
		if _, err := h.WaitGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		if done, err := host.DurableGroupDone(h, g); err != nil || !done {
			t.Fatalf("round %d: WaitGroup returned before the group was done on disk: %v %v", round, done, err)
		}
		<-big
	}
}

func TestMoreBadInput(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	id, _ := h.Create(ctx, host.JobSpec{Task: "chaos.noop"})
	if err := h.SubmitCreated(ctx, id, id); !errors.Is(err, host.ErrInvalid) || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("duplicate ids: %v", err)
	}
	if j, _ := h.Get(ctx, id); j.State != host.StateCreated {
		t.Fatalf("refused submit changed the job: %s", j.State)
	}
	labels := map[string]string{}
	for i := range 65 {
		labels[fmt.Sprint("l", i)] = "v"
	}
	if _, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", Labels: labels}); !errors.Is(err, host.ErrInvalid) {
		t.Fatalf("65 labels: %v", err)
	}
	if _, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", Labels: map[string]string{"k": strings.Repeat("x", 5000)}}); !errors.Is(err, host.ErrInvalid) {
		t.Fatalf("huge label: %v", err)
	}
	if _, err := h.CreateSchedule(ctx, host.ScheduleSpec{Name: "feb30", Cron: "0 0 30 2 *", Job: host.JobSpec{Task: "chaos.noop"}}); !errors.Is(err, host.ErrInvalid) || !strings.Contains(err.Error(), "never fires") {
		t.Fatalf("never-firing spec: %v", err)
	}
}

// A Wait abandoned by its context leaves nothing behind in the engine.
func TestAbandonedWaitsAreForgotten(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	h.PauseDispatch(ctx)
	id := submit(t, h, host.JobSpec{Task: "chaos.noop"})
	for range 100 {
		short, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := h.Wait(short, id); err == nil {
			t.Fatal("Wait with a canceled context returned no error")
		}
	}
	if n := host.Waiters(h, id); n != 0 {
		t.Fatalf("%d waiters left on the job", n)
	}
}
