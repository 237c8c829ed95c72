package host_test

import (
	"errors"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// The dashboard's figures at the host's API: dependents of a job (and an
// unknown id refused), the oldest ready job per priority while dispatch
// is paused, unfinished counts by state and priority, and commits
// observed until the observer stops.
func TestObserveMethods(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	if _, err := h.Dependents(ctx, "no-such-job"); !errors.Is(err, host.ErrNotFound) {
		t.Fatalf("Dependents of an unknown id: %v, want ErrNotFound", err)
	}
	commits := make(chan int, 1000)
	stop := h.ObserveCommits(func(_ time.Duration, n int) {
		select {
		case commits <- n:
		default:
		}
	})
	if err := h.PauseDispatch(ctx); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	a := submit(t, h, host.JobSpec{Task: "chaos.noop", Priority: host.PriorityLow})
	b := submit(t, h, host.JobSpec{Task: "chaos.noop", DependsOn: []host.Dep{{Job: a}}})
	// Other commits (of no job: the store's own) may come first; the
	// submits' commits write jobs.
	for n := 0; n < 1; {
		select {
		case n = <-commits:
		case <-ctx.Done():
			t.Fatal("no commit of the submits' jobs was observed")
		}
	}
	deps, err := h.Dependents(ctx, a)
	if err != nil || len(deps) != 1 || deps[0].Job != b || deps[0].Policy != host.DepCancel {
		t.Fatalf("Dependents(a) = %+v, %v; want b with policy cancel", deps, err)
	}
	oldest := h.OldestReady()
	if len(oldest) != 1 || oldest[host.PriorityLow].Before(before) || oldest[host.PriorityLow].After(time.Now()) {
		t.Errorf("OldestReady = %v, want low only, queued after %v", oldest, before)
	}
	counts, err := h.CountsByPriority(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[host.StateQueued][host.PriorityLow] != 1 || counts[host.StateWaiting][host.PriorityNormal] != 1 {
		t.Errorf("CountsByPriority = %v", counts)
	}
	if _, ok := counts[host.StateCompleted]; ok {
		t.Errorf("CountsByPriority counts finished jobs it does not know")
	}
	stop()
	if err := h.ResumeDispatch(ctx); err != nil {
		t.Fatal(err)
	}
	wait(t, h, b)
	for len(commits) > 0 {
		<-commits
	}
	submit(t, h, host.JobSpec{Task: "chaos.noop"})
	if len(commits) != 0 {
		t.Errorf("a stopped observer still hears commits")
	}
	if got := h.PluginProcesses()["chaos"]; got < 1 {
		t.Errorf("PluginProcesses = %v after jobs ran", h.PluginProcesses())
	}
}
