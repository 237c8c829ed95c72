package host_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/google/go-cmp/cmp"
)

func TestEchoReturnsArgsThroughARealPlugin(t *testing.T) {
	h, _ := openHost(t, nil)
	id := submit(t, h, host.JobSpec{Task: "chaos.echo", Args: map[string]any{"hello": "wörld", "n": 3}})
	j := wait(t, h, id)
	if j.State != host.StateCompleted {
		t.Fatalf("state %s, error %+v", j.State, j.Error)
	}
	var out map[string]any
	if err := h.Result(ctxT(t), id, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"hello": "wörld", "n": 3.0}, out); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if j.Attempt != 1 || len(j.Attempts) != 1 || j.Attempts[0].FinishedAt == nil || j.StartedAt == nil || j.FinishedAt == nil {
		t.Errorf("history incomplete: %+v", j)
	}
}

func TestPriorityOrderAndFIFOUnderContention(t *testing.T) {
	h, _ := openHost(t, func(c *host.Config) { c.MaxWorkers = 1 })
	ctx := ctxT(t)
	if err := h.PauseDispatch(ctx); err != nil {
		t.Fatal(err)
	}
	rec := record(t, h, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	prios := []host.Priority{host.PriorityLow, host.PriorityNormal, host.PriorityCritical, host.PriorityHigh,
		host.PriorityLow, host.PriorityCritical, host.PriorityNormal, host.PriorityHigh}
	want := map[host.Priority][]string{}
	var last string
	for _, p := range prios {
		id := submit(t, h, host.JobSpec{Task: "chaos.noop", Priority: p})
		want[p] = append(want[p], id)
		last = id
	}
	_ = last
	if err := h.ResumeDispatch(ctx); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, p := range []host.Priority{host.PriorityCritical, host.PriorityHigh, host.PriorityNormal, host.PriorityLow} {
		order = append(order, want[p]...)
	}
	evs := rec.until(t, stateEvent(order[len(order)-1], host.StateCompleted))
	if diff := cmp.Diff(order, runningOrder(evs)); diff != "" {
		t.Errorf("start order (-want +got):\n%s", diff)
	}
}

func TestIdempotencyKey(t *testing.T) {
	h, _ := openHost(t, nil)
	a := submit(t, h, host.JobSpec{Task: "chaos.noop", Key: "reindex-2026-11-28"})
	b := submit(t, h, host.JobSpec{Task: "chaos.noop", Key: "reindex-2026-11-28"})
	if a != b {
		t.Fatalf("same key gave two jobs %s %s", a, b)
	}
	wait(t, h, a)
	// Still kept after it finished (until pruned): still the same job.
	c := submit(t, h, host.JobSpec{Task: "chaos.noop", Key: "reindex-2026-11-28"})
	if c != a {
		t.Fatalf("finished job's key gave a new job %s", c)
	}
	ids, err := h.SubmitMany(ctxT(t), []host.JobSpec{{Task: "chaos.noop", Key: "k2"}, {Task: "chaos.noop", Key: "k2"}, {Task: "chaos.noop", Key: "reindex-2026-11-28"}})
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] != ids[1] || ids[2] != a {
		t.Fatalf("SubmitMany keys: %v", ids)
	}
	jobs, _, err := h.List(ctxT(t), host.ListFilter{})
	if err != nil || len(jobs) != 2 {
		t.Fatalf("List: %d jobs, %v; want 2", len(jobs), err)
	}
}

func TestQueueFullWritesNothing(t *testing.T) {
	h, _ := openHost(t, func(c *host.Config) { c.MaxQueueSize = 3 })
	ctx := ctxT(t)
	h.PauseDispatch(ctx)
	for range 3 {
		submit(t, h, host.JobSpec{Task: "chaos.noop"})
	}
	if _, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop"}); !errors.Is(err, host.ErrQueueFull) {
		t.Fatalf("4th Submit: %v, want ErrQueueFull", err)
	}
	if _, err := h.SubmitMany(ctx, []host.JobSpec{{Task: "chaos.noop"}, {Task: "chaos.noop"}}); !errors.Is(err, host.ErrQueueFull) {
		t.Fatalf("SubmitMany: %v, want ErrQueueFull", err)
	}
	// Created jobs do not count; submitting them does.
	id, err := h.Create(ctx, host.JobSpec{Task: "chaos.noop"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SubmitCreated(ctx, id); !errors.Is(err, host.ErrQueueFull) {
		t.Fatalf("SubmitCreated: %v", err)
	}
	jobs, _, _ := h.List(ctx, host.ListFilter{})
	st, _ := h.Stats(ctx)
	if len(jobs) != 4 || st.Counts[host.StateQueued] != 3 || st.Counts[host.StateCreated] != 1 {
		t.Fatalf("stored %d jobs, counts %v", len(jobs), st.Counts)
	}
	h.ResumeDispatch(ctx)
	if err := h.SubmitCreated(ctx, id); err != nil {
		// The queue may still be full if nothing ran yet; wait for one.
		wait(t, h, jobs[1].ID)
		if err := h.SubmitCreated(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if j := wait(t, h, id); j.State != host.StateCompleted {
		t.Fatalf("state %s", j.State)
	}
}

func TestCreateThenSubmitCreatedAndCancelQueued(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	id, err := h.Create(ctx, host.JobSpec{Task: "chaos.echo", Args: json.RawMessage(`[1,2]`)})
	if err != nil {
		t.Fatal(err)
	}
	if j, _ := h.Get(ctx, id); j.State != host.StateCreated {
		t.Fatalf("created job is %s", j.State)
	}
	if err := h.SubmitCreated(ctx, id); err != nil {
		t.Fatal(err)
	}
	if j := wait(t, h, id); j.State != host.StateCompleted || string(j.Result) != `[1,2]` {
		t.Fatalf("%s %s", j.State, j.Result)
	}
	h.PauseDispatch(ctx)
	q := submit(t, h, host.JobSpec{Task: "chaos.noop"})
	if err := h.Cancel(ctx, q); err != nil {
		t.Fatal(err)
	}
	j := wait(t, h, q)
	if j.State != host.StateCanceled || j.Attempt != 0 || j.Error == nil || j.Error.Kind != "canceled" {
		t.Fatalf("canceled queued job: %+v", j)
	}
}

func TestListFiltersAndPages(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	var ids []string
	for i := range 5 {
		ids = append(ids, submit(t, h, host.JobSpec{Task: "chaos.echo", Args: map[string]int{"i": i}}))
	}
	fail := submit(t, h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 1, "permanent": true}})
	for _, id := range append(ids, fail) {
		wait(t, h, id)
	}
	page1, next, err := h.List(ctx, host.ListFilter{Task: "chaos.echo", Limit: 3})
	if err != nil || len(page1) != 3 || next == "" {
		t.Fatalf("page1 %d next %q err %v", len(page1), next, err)
	}
	page2, next2, err := h.List(ctx, host.ListFilter{Task: "chaos.echo", Limit: 3, Before: next})
	if err != nil || len(page2) != 2 || next2 != "" {
		t.Fatalf("page2 %d next %q err %v", len(page2), next2, err)
	}
	var got []string
	for _, j := range append(page1, page2...) {
		got = append(got, j.ID)
	}
	want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("newest first (-want +got):\n%s", diff)
	}
	failed, _, _ := h.List(ctx, host.ListFilter{States: []host.State{host.StateFailed}})
	if len(failed) != 1 || failed[0].ID != fail {
		t.Errorf("failed filter: %v", failed)
	}
	st, err := h.Stats(ctx)
	if err != nil || st.Counts[host.StateCompleted] != 5 || st.Counts[host.StateFailed] != 1 || st.BusyWorkers != 0 {
		t.Errorf("stats %+v %v", st, err)
	}
}

func TestTasksListsChaos(t *testing.T) {
	h, _ := openHost(t, nil)
	var names []string
	for _, ti := range h.Tasks() {
		if ti.Plugin != strings.Split(ti.Name, ".")[0] || ti.Description == "" || ti.Version == "" {
			t.Errorf("task info %+v", ti)
		}
		names = append(names, ti.Name)
	}
	for _, want := range []string{"chaos.noop", "chaos.echo", "chaos.sleep", "chaos.fail", "chaos.panic", "chaos.exit", "chaos.kill", "chaos.hang", "chaos.progress", "chaos.alloc"} {
		if !strings.Contains(strings.Join(names, ","), want) {
			t.Errorf("missing task %s in %v", want, names)
		}
	}
	if p := h.Problems(); len(p) != 0 {
		t.Errorf("problems: %v", p)
	}
}

func TestSecondHostOnSameDirFailsFast(t *testing.T) {
	_, cfg := openHost(t, nil)
	start := time.Now()
	_, err := host.Open(cfg)
	if err == nil || !strings.Contains(err.Error(), cfg.DataDir) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open: %v; want an in-use error naming %s", err, cfg.DataDir)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("second Open took %s", time.Since(start))
	}
}
