package host_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/hosttest"
)

// failing fails at once, for good.
var failing = host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 99, "permanent": true}, MaxAttempts: 1}

func TestDeleteIsAllOrNothing(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	done := submit(t, h, host.JobSpec{Task: "chaos.noop"})
	wait(t, h, done)
	rec := record(t, h, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	running := submit(t, h, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 60000}})
	rec.until(t, stateEvent(running, host.StateRunning))

	refused := []struct {
		name string
		ids  []string
		is   error
		want []string
	}{
		{"unfinished", []string{done, running}, host.ErrState, []string{running, "running", "none of the 2 jobs was deleted"}},
		{"unknown", []string{done, "0190f1c2-0000-7000-8000-000000000000"}, host.ErrNotFound, []string{"0190f1c2-0000-7000-8000-000000000000 not found"}},
		{"twice", []string{done, done}, host.ErrInvalid, []string{done, "twice"}},
		{"empty", []string{done, ""}, host.ErrInvalid, []string{"empty"}},
		{"none", nil, host.ErrInvalid, []string{"no job ids"}},
	}
	for _, tc := range refused {
		err := h.Delete(ctx, tc.ids...)
		if !errors.Is(err, tc.is) {
			t.Fatalf("%s: Delete(%v) = %v, want %v", tc.name, tc.ids, err, tc.is)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%s: error %q does not name %q on one line", tc.name, err, w)
			}
		}
		if _, err := h.Get(ctx, done); err != nil {
			t.Fatalf("%s: a refused delete deleted %s: %v", tc.name, done, err)
		}
	}
	if j, err := h.Get(ctx, running); err != nil || j.State != host.StateRunning {
		t.Fatalf("running job after refused deletes: %v %v", j, err)
	}

	if err := h.Cancel(ctx, running); err != nil {
		t.Fatal(err)
	}
	wait(t, h, running)
	before, _ := h.Stats(ctx)
	if err := h.Delete(ctx, done, running); err != nil {
		t.Fatalf("Delete of two finished jobs: %v", err)
	}
	for _, id := range []string{done, running} {
		if _, err := h.Get(ctx, id); !errors.Is(err, host.ErrNotFound) {
			t.Fatalf("deleted job %s: %v", id, err)
		}
	}
	after, _ := h.Stats(ctx)
	if after.Counts[host.StateCompleted] != before.Counts[host.StateCompleted]-1 || after.Counts[host.StateCanceled] != before.Counts[host.StateCanceled]-1 {
		t.Fatalf("counts before %v, after %v", before.Counts, after.Counts)
	}
	if err := h.Delete(ctx, done); !errors.Is(err, host.ErrNotFound) {
		t.Fatalf("deleting again: %v", err)
	}
}

func TestDeleteRemovesTheLogs(t *testing.T) {
	h, cfg := openHost(t, nil)
	ctx := ctxT(t)
	id := submit(t, h, host.JobSpec{Task: "chaos.log", Args: map[string]int{"lines": 3}, Key: "logged"})
	wait(t, h, id)
	file := filepath.Join(cfg.DataDir, "logs", id+".jsonl")
	if logs, err := h.Logs(ctx, id); err != nil || len(logs) != 3 {
		t.Fatalf("logs before the delete: %d, %v", len(logs), err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("log file before the delete: %v", err)
	}
	if err := h.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("log file after the delete: %v", err)
	}
	if _, err := h.Logs(ctx, id); !errors.Is(err, host.ErrNotFound) {
		t.Fatalf("Logs of a deleted job: %v", err)
	}
	// Its idempotency key is free again.
	if again := submit(t, h, host.JobSpec{Task: "chaos.noop", Key: "logged"}); again == id {
		t.Fatal("the key still names the deleted job")
	}
}

func TestDeletedDependencyCountsAsCompletedForALaterSubmit(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	dep := submit(t, h, failing)
	held, err := h.Create(ctx, host.JobSpec{Task: "chaos.noop", DependsOn: host.After(dep)})
	if err != nil {
		t.Fatal(err)
	}
	if j := wait(t, h, dep); j.State != host.StateFailed {
		t.Fatalf("dependency %s", j.State)
	}
	if err := h.Delete(ctx, dep); err != nil {
		t.Fatal(err)
	}
	// Submitted while its dependency was there, the job would be canceled
	// (it failed); deleted, it counts as completed.
	if err := h.SubmitCreated(ctx, held); err != nil {
		t.Fatal(err)
	}
	if j := wait(t, h, held); j.State != host.StateCompleted {
		t.Fatalf("dependent of a deleted job: %s (%v)", j.State, j.Error)
	}
	// A new job cannot name it.
	if _, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", DependsOn: host.After(dep)}); !errors.Is(err, host.ErrNotFound) || !strings.Contains(err.Error(), dep) {
		t.Fatalf("submit after a deleted job: %v", err)
	}
}

func TestPurgeSelectsByStateTaskAndAge(t *testing.T) {
	clk := hosttest.NewClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	h, _ := openHost(t, func(c *host.Config) { c.Clock = clk })
	ctx := ctxT(t)
	run := func(specs ...host.JobSpec) []string {
		ids, err := h.SubmitMany(ctx, specs)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			wait(t, h, id)
		}
		return ids
	}
	oldNoop := run(host.JobSpec{Task: "chaos.noop"}, host.JobSpec{Task: "chaos.noop"})
	oldFailed := run(failing)
	clk.Advance(2 * time.Hour)
	newNoop := run(host.JobSpec{Task: "chaos.noop"})
	echo := run(host.JobSpec{Task: "chaos.echo"}, host.JobSpec{Task: "chaos.echo"})
	newFailed := run(failing)
	unfinished := submit(t, h, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 60000}})

	for _, bad := range []host.PurgeFilter{
		{},
		{States: []host.State{host.StateRunning}},
		{States: []host.State{host.StateFailed, "bogus"}},
		{States: []host.State{host.StateFailed}, OlderThan: -time.Second},
	} {
		if n, err := h.Purge(ctx, bad); !errors.Is(err, host.ErrInvalid) || n != 0 {
			t.Fatalf("Purge(%+v) = %d, %v; want ErrInvalid", bad, n, err)
		}
	}
	gone := func(want int, f host.PurgeFilter, ids ...[]string) {
		t.Helper()
		n, err := h.Purge(ctx, f)
		if err != nil || n != want {
			t.Fatalf("Purge(%+v) = %d, %v; want %d", f, n, err, want)
		}
		for _, list := range ids {
			for _, id := range list {
				if _, err := h.Get(ctx, id); !errors.Is(err, host.ErrNotFound) {
					t.Fatalf("Purge(%+v) left %s: %v", f, id, err)
				}
			}
		}
	}
	completed := []host.State{host.StateCompleted}
	gone(2, host.PurgeFilter{States: completed, Task: "chaos.echo"}, echo)
	gone(2, host.PurgeFilter{States: completed, OlderThan: time.Hour}, oldNoop)
	gone(1, host.PurgeFilter{States: []host.State{host.StateFailed, host.StateCanceled}, OlderThan: time.Hour}, oldFailed)
	gone(0, host.PurgeFilter{States: completed, Task: "chaos.noop", OlderThan: 3 * time.Hour})
	for _, id := range append(append(newNoop, newFailed...), unfinished) {
		if _, err := h.Get(ctx, id); err != nil {
			t.Fatalf("a purge its filter did not select took %s: %v", id, err)
		}
	}
	gone(2, host.PurgeFilter{States: []host.State{host.StateCompleted, host.StateFailed}}, newNoop, newFailed)
	if j, err := h.Get(ctx, unfinished); err != nil || j.State.Terminal() {
		t.Fatalf("unfinished job after purges: %v, %v", j, err)
	}
}

func TestPurgeDeletesMoreThanOneBatch(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	dep := submit(t, h, failing)
	wait(t, h, dep)
	// Jobs that depend on a failed job are canceled as they are inserted:
	// many finished jobs in one commit, without running any.
	const n = 2345
	specs := make([]host.JobSpec, n)
	for i := range specs {
		specs[i] = host.JobSpec{Task: "chaos.noop", DependsOn: host.After(dep)}
	}
	if _, err := h.SubmitMany(ctx, specs); err != nil {
		t.Fatal(err)
	}
	got, err := h.Purge(ctx, host.PurgeFilter{States: []host.State{host.StateCanceled}})
	if err != nil || got != n {
		t.Fatalf("Purge = %d, %v; want %d", got, err, n)
	}
	s, err := h.Stats(ctx)
	if err != nil || s.Counts[host.StateCanceled] != 0 || s.Counts[host.StateFailed] != 1 {
		t.Fatalf("counts after the purge: %v, %v", s.Counts, err)
	}
}
