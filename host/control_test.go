package host_test

import (
	"errors"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

func TestPauseRunningJobStopsProgressAndTimeoutClock(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	rec := record(t, h, host.EventFilter{})
	// 10 steps of 100ms: ~1s of work under a 2.5s timeout (room for a
	// loaded machine), paused for 3s: the job completes only if the pause
	// does not count.
	id := submit(t, h, host.JobSpec{Task: "chaos.progress", Args: map[string]int{"steps": 10, "ms": 100}, Timeout: 2500 * time.Millisecond})
	rec.until(t, func(e host.Event) bool {
		return e.Job == id && e.Type == host.EventJobProgress && e.Progress.Fraction >= 0.3
	})
	if err := h.Pause(ctx, id); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	rec.until(t, stateEvent(id, host.StatePaused))
	// While paused, nothing may arrive for the job: its process is stopped.
	// Progress the host received before the stop (its time) was on its way
	// and may still be published after the paused state.
	window := time.After(3 * time.Second)
	for quiet := true; quiet; {
		select {
		case e := <-rec.ch:
			if e.Job == id && e.Type == host.EventJobProgress && e.Time.After(paused) {
				t.Fatalf("progress %v while paused", e.Progress.Fraction)
			}
		case <-window:
			quiet = false
		}
	}
	if j, _ := h.Get(ctx, id); j.State != host.StatePaused || j.PausedFrom != host.StateRunning {
		t.Fatalf("paused job %s from %s", j.State, j.PausedFrom)
	}
	if err := h.Resume(ctx, id); err != nil {
		t.Fatal(err)
	}
	j := wait(t, h, id)
	if j.State != host.StateCompleted || j.Attempt != 1 {
		t.Fatalf("after resume: %s attempt %d %+v (the timeout must not count the pause)", j.State, j.Attempt, j.Error)
	}
}

func TestCancelRunningHangEndsWithinGraceAndIsNotRetried(t *testing.T) {
	h, cfg := openHost(t, nil)
	ctx := ctxT(t)
	rec := record(t, h, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	id := submit(t, h, host.JobSpec{Task: "chaos.hang", MaxAttempts: 3})
	rec.until(t, stateEvent(id, host.StateRunning))
	start := time.Now()
	if err := h.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	j := wait(t, h, id)
	if el := time.Since(start); el > cfg.KillGrace+time.Second {
		t.Errorf("cancel took %s, grace %s", el, cfg.KillGrace)
	}
	if j.State != host.StateCanceled || j.Attempt != 1 || len(j.Attempts) != 1 {
		t.Fatalf("canceled hang: %s attempt %d", j.State, j.Attempt)
	}
}

func TestPerTaskLimitWithoutStarvingOthers(t *testing.T) {
	testLimit(t, map[string]int{"chaos.sleep": 2})
}

// A plugin-wide limit counts every task of the plugin; with chaos at 3,
// the sleeps may use at most 2 while the echos take the third.
func TestPerPluginLimit(t *testing.T) {
	testLimit(t, map[string]int{"chaos": 3, "chaos.sleep": 2})
}

func testLimit(t *testing.T, limits map[string]int) {
	h, _ := openHost(t, func(c *host.Config) {
		c.MaxWorkers = 4
		c.Limits = limits
	})
	ctx := ctxT(t)
	rec := record(t, h, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	var specs []host.JobSpec
	for range 10 {
		specs = append(specs, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 100}})
	}
	sleeps, err := h.SubmitMany(ctx, specs)
	if err != nil {
		t.Fatal(err)
	}
	// Other tasks queued behind them still get the free workers.
	var others []string
	for range 5 {
		others = append(others, submit(t, h, host.JobSpec{Task: "chaos.echo", Args: map[string]int{"x": 1}}))
	}
	for _, id := range others {
		wait(t, h, id)
	}
	echoDoneWhileSleepsLeft := false
	if j, _ := h.Get(ctx, sleeps[9]); !j.Done() {
		echoDoneWhileSleepsLeft = true
	}
	if !echoDoneWhileSleepsLeft {
		t.Errorf("other tasks waited for all limited jobs")
	}
	evs := rec.until(t, func(e host.Event) bool {
		if e.Job != sleeps[9] || !e.State.Terminal() {
			return false
		}
		return true
	})
	// The last-submitted sleep may not finish last; wait for all of them.
	for _, id := range sleeps {
		wait(t, h, id)
	}
	isSleep := map[string]bool{}
	for _, id := range sleeps {
		isSleep[id] = true
	}
	running, peak, all, allPeak := 0, 0, 0, 0
	for _, e := range evs {
		if e.State == host.StateRunning {
			all++
			allPeak = max(allPeak, all)
		}
		if e.PrevState == host.StateRunning {
			all--
		}
		if !isSleep[e.Job] {
			continue
		}
		if e.State == host.StateRunning {
			running++
			peak = max(peak, running)
		}
		if e.PrevState == host.StateRunning {
			running--
		}
	}
	if peak > 2 || peak == 0 {
		t.Fatalf("peak of %d limited jobs running at once, limit 2", peak)
	}
	if n, ok := limits["chaos"]; ok && allPeak > n {
		t.Fatalf("peak of %d chaos jobs running at once, plugin limit %d", allPeak, n)
	}
}

func TestPauseAndResumeQueuedAndWaiting(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	h.PauseDispatch(ctx)
	q := submit(t, h, host.JobSpec{Task: "chaos.noop"})
	w := submit(t, h, host.JobSpec{Task: "chaos.noop", DependsOn: host.After(q)})
	for _, id := range []string{q, w} {
		if err := h.Pause(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Pause(ctx, q); !errors.Is(err, host.ErrState) {
		t.Fatalf("double pause: %v", err)
	}
	h.ResumeDispatch(ctx)
	if err := h.Resume(ctx, w); err != nil {
		t.Fatal(err)
	}
	if j, _ := h.Get(ctx, w); j.State != host.StateWaiting {
		t.Fatalf("resumed dependent is %s, want waiting", j.State)
	}
	if err := h.Resume(ctx, q); err != nil {
		t.Fatal(err)
	}
	if j := wait(t, h, w); j.State != host.StateCompleted {
		t.Fatalf("%s", j.State)
	}
}
