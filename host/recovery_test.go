package host_test

import (
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// A job whose plugin is gone when it is dispatched (the plugin was removed
// while the host was down) fails at once with kind unknown_task: the same
// task would be unknown on every attempt, so none is retried. On a shared
// queue it waits for a host that serves it.
func TestJobOfAPluginRemovedWhileDownFailsAsUnknownTask(t *testing.T) {
	h, cfg := openHost(t, nil)
	if err := h.PauseDispatch(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	id := submit(t, h, host.JobSpec{Task: "chaos.noop", MaxAttempts: 3})
	closeHost(t, h)

	cfg.PluginDir = t.TempDir()
	if cfg.Database != "" {
		// On a shared queue another host may serve the task: the job
		// waits for one, and this host claims only what it serves.
		linkPlugin(t, cfg.PluginDir, "exec")
		h = reopen(t, cfg)
		other := submit(t, h, host.JobSpec{Task: "exec.run", Args: map[string]any{"argv": []string{"true"}}})
		wait(t, h, other)
		if j, err := h.Get(ctxT(t), id); err != nil || j.State != host.StateQueued {
			t.Fatalf("job of a task no host serves, on a shared queue: %+v %v; want it queued", j, err)
		}
		return
	}
	h = reopen(t, cfg)
	j := wait(t, h, id)
	if j.State != host.StateFailed || j.Error == nil || j.Error.Kind != "unknown_task" || j.Attempt != 1 {
		t.Fatalf("got %s after %d attempts, error %+v; want failed after 1 attempt, kind unknown_task", j.State, j.Attempt, j.Error)
	}
}

func TestStopDrainInterruptsAndReopenCompletes(t *testing.T) {
	h, cfg := openHost(t, func(c *host.Config) { c.MaxWorkers = 10 })
	ctx := ctxT(t)
	rec := record(t, h, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	var specs []host.JobSpec
	for range 10 {
		specs = append(specs, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 3000}})
	}
	ids, err := h.SubmitMany(ctx, specs)
	if err != nil {
		t.Fatal(err)
	}
	started := map[string]bool{}
	rec.until(t, func(e host.Event) bool {
		if e.State == host.StateRunning {
			started[e.Job] = true
		}
		return len(started) == 10
	})
	drain, cancel := contextWithTimeout(time.Second)
	defer cancel()
	if err := h.Stop(drain); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		j, _ := h.Get(ctx, id)
		if j.State != host.StateQueued || j.Attempts[0].Error == nil || j.Attempts[0].Error.Kind != "interrupted" {
			t.Fatalf("after Stop: %s %+v", j.State, j.Attempts)
		}
	}
	closeHost(t, h)
	h2 := reopen(t, cfg)
	for _, id := range ids {
		if j := wait(t, h2, id); j.State != host.StateCompleted || j.Attempt != 2 {
			t.Fatalf("after reopen: %s attempt %d", j.State, j.Attempt)
		}
	}
}

func TestPausedRunningJobStaysPausedAcrossRestart(t *testing.T) {
	h, cfg := openHost(t, nil)
	ctx := ctxT(t)
	rec := record(t, h, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	id := submit(t, h, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 60000}})
	rec.until(t, stateEvent(id, host.StateRunning))
	if err := h.Pause(ctx, id); err != nil {
		t.Fatal(err)
	}
	closeHost(t, h)
	h = reopen(t, cfg)
	j, err := h.Get(ctx, id)
	if err != nil || j.State != host.StatePaused || j.Attempts[0].Error == nil || j.Attempts[0].Error.Kind != "interrupted" {
		t.Fatalf("after restart: %+v %v", j, err)
	}
	if err := h.Resume(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := h.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	if j := wait(t, h, id); j.State != host.StateCanceled || j.Attempt > 2 {
		t.Fatalf("%s attempt %d", j.State, j.Attempt)
	}
}
