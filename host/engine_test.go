package host_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/hosttest"
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

func TestRetryCountsAndBackoffSpacingWithInjectedClock(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := hosttest.NewClock(start)
	h, _ := openHost(t, func(c *host.Config) {
		c.Clock = clk
		c.DefaultBackoff = &host.Backoff{Initial: time.Second, Multiplier: 2, Max: time.Minute}
	})
	rec := record(t, h, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	id := submit(t, h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 3}, MaxAttempts: 4})
	for attempt, gap := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		// The failed attempt goes back to queued with a not-before time;
		// nothing runs until the clock reaches it.
		rec.until(t, func(e host.Event) bool {
			return e.Job == id && e.State == host.StateQueued && e.PrevState == host.StateRunning
		})
		j, _ := h.Get(ctxT(t), id)
		if j.Attempt != attempt+1 || j.RunAt == nil || !j.RunAt.Equal(clk.Now().Add(gap)) {
			t.Fatalf("after attempt %d: attempt %d run_at %v, want now+%s", attempt+1, j.Attempt, j.RunAt, gap)
		}
		clk.Advance(gap - time.Millisecond)
		clk.Advance(time.Millisecond)
	}
	j := wait(t, h, id)
	if j.State != host.StateCompleted || j.Attempt != 4 {
		t.Fatalf("state %s attempt %d", j.State, j.Attempt)
	}
	// Spacing between one attempt's end and the next one's start is the
	// backoff exactly: the clock only moved when the test moved it.
	for i, gap := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		got := j.Attempts[i+1].StartedAt.Sub(*j.Attempts[i].FinishedAt)
		if got != gap {
			t.Errorf("gap after attempt %d = %s, want %s", i+1, got, gap)
		}
		if j.Attempts[i].Error == nil || j.Attempts[i].Error.Kind != "task_error" {
			t.Errorf("attempt %d error %+v", i+1, j.Attempts[i].Error)
		}
	}
}

func TestPermanentAndInvalidArgsAreNotRetried(t *testing.T) {
	h, _ := openHost(t, nil)
	perm := submit(t, h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 5, "permanent": true}, MaxAttempts: 5})
	bad := submit(t, h, host.JobSpec{Task: "chaos.sleep", Args: map[string]any{"ms": "soon"}, MaxAttempts: 5})
	for id, kind := range map[string]host.ErrorKind{perm: "permanent", bad: "invalid_args"} {
		j := wait(t, h, id)
		if j.State != host.StateFailed || j.Attempt != 1 || j.Error == nil || j.Error.Kind != kind {
			t.Errorf("%s: state %s attempt %d error %+v, want failed after 1 attempt with %s", id, j.State, j.Attempt, j.Error, kind)
		}
		if err := h.Result(ctxT(t), id, nil); !errors.Is(err, host.ErrNotCompleted) {
			t.Errorf("Result of failed job: %v", err)
		}
	}
}

func TestRetriesExhaustedEndFailed(t *testing.T) {
	h, _ := openHost(t, nil)
	id := submit(t, h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 10}, MaxAttempts: 3})
	j := wait(t, h, id)
	if j.State != host.StateFailed || j.Attempt != 3 || len(j.Attempts) != 3 {
		t.Fatalf("state %s attempts %d/%d", j.State, j.Attempt, len(j.Attempts))
	}
	// Manual retry: a fresh budget of 3 more.
	if err := h.Retry(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	j = wait(t, h, id)
	if j.State != host.StateFailed || j.Attempt != 6 {
		t.Fatalf("after Retry: state %s attempt %d, want failed at 6", j.State, j.Attempt)
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

func TestBadInputGetsClearErrorAndWritesNothing(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	done := submit(t, h, host.JobSpec{Task: "chaos.noop"})
	wait(t, h, done)
	tests := []struct {
		name string
		spec host.JobSpec
		is   error
		msg  string
	}{
		{"unknown task", host.JobSpec{Task: "chaos.nope"}, host.ErrUnknownTask, `"chaos.nope"`},
		{"unknown plugin", host.JobSpec{Task: "nope.x"}, host.ErrUnknownTask, "nope.x"},
		{"no task", host.JobSpec{}, host.ErrInvalid, "task is required"},
		{"task without plugin", host.JobSpec{Task: "noop"}, host.ErrInvalid, "<plugin>.<task>"},
		{"args not JSON", host.JobSpec{Task: "chaos.echo", Args: json.RawMessage(`{"a":`)}, host.ErrInvalid, "not valid JSON"},
		{"args too big", host.JobSpec{Task: "chaos.echo", Args: map[string]string{"x": strings.Repeat("a", 1<<20)}}, host.ErrInvalid, "byte limit"},
		{"args not encodable", host.JobSpec{Task: "chaos.echo", Args: func() {}}, host.ErrInvalid, "cannot be encoded"},
		{"negative attempts", host.JobSpec{Task: "chaos.noop", MaxAttempts: -1}, host.ErrInvalid, "max attempts"},
		{"negative timeout", host.JobSpec{Task: "chaos.noop", Timeout: -time.Second}, host.ErrInvalid, "timeout must not be negative"},
		{"absurd timeout", host.JobSpec{Task: "chaos.noop", Timeout: 20 * 365 * 24 * time.Hour}, host.ErrInvalid, "absurd"},
		{"invalid priority", host.JobSpec{Task: "chaos.noop", Priority: 9}, host.ErrInvalid, "priority"},
		{"unknown dependency", host.JobSpec{Task: "chaos.noop", DependsOn: host.After("0190-nope")}, host.ErrNotFound, "0190-nope"},
		{"unknown group", host.JobSpec{Task: "chaos.noop", Group: "g-nope"}, host.ErrNotFound, "g-nope"},
		{"bad dep policy", host.JobSpec{Task: "chaos.noop", DependsOn: []host.Dep{{Job: done, Policy: "maybe"}}}, host.ErrInvalid, "maybe"},
		// Values a job record could not hold must be refused up front: once
		// in a commit, they would fail the store and with it the host.
		{"run-at past year 9999", host.JobSpec{Task: "chaos.noop", RunAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, host.ErrInvalid, "run-at"},
		{"run-at before year 0", host.JobSpec{Task: "chaos.noop", RunAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}, host.ErrInvalid, "run-at"},
		{"args nested too deep", host.JobSpec{Task: "chaos.echo", Args: json.RawMessage(strings.Repeat("[", 9000) + strings.Repeat("]", 9000))}, host.ErrInvalid, "nested deeper"},
		{"args not UTF-8", host.JobSpec{Task: "chaos.echo", Args: json.RawMessage("{\"a\":\"\xff\"}")}, host.ErrInvalid, "UTF-8"},
		{"key not UTF-8", host.JobSpec{Task: "chaos.noop", Key: "k\xff"}, host.ErrInvalid, "UTF-8"},
		{"reserved label", host.JobSpec{Task: "chaos.noop", Labels: map[string]string{host.LabelSchedule: "x"}}, host.ErrInvalid, "batchhost."},
		{"absurd backoff", host.JobSpec{Task: "chaos.noop", Backoff: &host.Backoff{Initial: time.Duration(math.MaxInt64), Max: time.Duration(math.MaxInt64)}}, host.ErrInvalid, "10 years"},
		{"task name too long", host.JobSpec{Task: "chaos." + strings.Repeat("x", 300)}, host.ErrInvalid, "longer than 256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Submit(ctx, tc.spec)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v; want %v containing %q on one line", err, tc.is, tc.msg)
			}
		})
	}
	// Operations on ids and states.
	created, _ := h.Create(ctx, host.JobSpec{Task: "chaos.noop"})
	ops := []struct {
		name string
		err  error
		is   error
	}{
		{"get unknown", func() error { _, err := h.Get(ctx, "nope"); return err }(), host.ErrNotFound},
		{"cancel unknown", h.Cancel(ctx, "nope"), host.ErrNotFound},
		{"wait unknown", func() error { _, err := h.Wait(ctx, "nope"); return err }(), host.ErrNotFound},
		{"submit completed", h.SubmitCreated(ctx, done), host.ErrState},
		{"retry completed", h.Retry(ctx, done), host.ErrState},
		{"retry created", h.Retry(ctx, created), host.ErrState},
		{"cancel completed", h.Cancel(ctx, done), host.ErrState},
		{"pause completed", h.Pause(ctx, done), host.ErrState},
		{"resume not paused", h.Resume(ctx, created), host.ErrState},
		{"add to unknown group", h.AddToGroup(ctx, created, "nope"), host.ErrNotFound},
	}
	for _, op := range ops {
		if !errors.Is(op.err, op.is) {
			t.Errorf("%s: %v, want %v", op.name, op.err, op.is)
		}
	}
	jobs, _, _ := h.List(ctx, host.ListFilter{})
	if len(jobs) != 2 {
		t.Fatalf("bad input wrote jobs: %d stored, want 2", len(jobs))
	}
	if j, _ := h.Get(ctx, done); j.State != host.StateCompleted || j.Attempt != 1 {
		t.Fatalf("completed job changed: %+v", j)
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

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		cfg  host.Config
		want string
	}{
		{host.Config{}, "DataDir"},
		{host.Config{DataDir: t.TempDir(), MaxWorkers: -1}, "MaxWorkers"},
		{host.Config{DataDir: t.TempDir(), PollInterval: -time.Second}, "PollInterval"},
		{host.Config{DataDir: t.TempDir(), Limits: map[string]int{"docs.ocr": 0}}, "Limits"},
		{host.Config{DataDir: t.TempDir(), DefaultBackoff: &host.Backoff{Jitter: 2}}, "jitter"},
		{host.Config{DataDir: t.TempDir(), PluginDir: "/nonexistent/plugins"}, "/nonexistent/plugins"},
	} {
		_, err := host.Open(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%+v) = %v, want error naming %s", tc.cfg, err, tc.want)
		}
	}
	// Validate answers as Open would, and names the field for a front end.
	var ce *host.ConfigError
	err := host.Config{DataDir: t.TempDir(), MaxWorkers: host.MaxWorkersLimit + 1}.Validate()
	if !errors.As(err, &ce) || ce.Field != "MaxWorkers" || ce.Reason != "at most 4096" || !errors.Is(err, host.ErrInvalid) {
		t.Errorf("Validate with MaxWorkers %d: %v, want a ConfigError for MaxWorkers", host.MaxWorkersLimit+1, err)
	}
}

func TestLogsAndProgressReachTheHostInOrder(t *testing.T) {
	h, _ := openHost(t, nil)
	rec := record(t, h, host.EventFilter{})
	id := submit(t, h, host.JobSpec{Task: "chaos.progress", Args: map[string]int{"steps": 5, "ms": 5}})
	evs := rec.until(t, stateEvent(id, host.StateCompleted))
	var fr []float64
	for _, e := range evs {
		if e.Type == host.EventJobProgress && e.Job == id {
			fr = append(fr, e.Progress.Fraction)
		}
	}
	if diff := cmp.Diff([]float64{0.2, 0.4, 0.6, 0.8, 1}, fr); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	logs, err := h.Logs(ctxT(t), id)
	if err != nil || len(logs) != 5 {
		t.Fatalf("logs %v %v", logs, err)
	}
	for i, l := range logs {
		if !strings.Contains(string(l.Fields), fmt.Sprintf(`"i":%d`, i+1)) || l.Attempt != 1 {
			t.Errorf("log %d: %+v", i, l)
		}
	}
}

func TestRetryAfterOverridesBackoff(t *testing.T) {
	clk := hosttest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	h, _ := openHost(t, func(c *host.Config) {
		c.Clock = clk
		c.DefaultBackoff = &host.Backoff{Initial: time.Hour, Multiplier: 2, Max: 2 * time.Hour}
	})
	rec := record(t, h, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	id := submit(t, h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 1, "retry_after_ms": 7000}})
	rec.until(t, func(e host.Event) bool {
		return e.Job == id && e.State == host.StateQueued && e.PrevState == host.StateRunning
	})
	j, _ := h.Get(ctxT(t), id)
	if j.RunAt == nil || !j.RunAt.Equal(clk.Now().Add(7*time.Second)) {
		t.Fatalf("run_at %v, want now+7s (the plugin's RetryAfter, not the 1h backoff)", j.RunAt)
	}
	clk.Advance(7 * time.Second)
	if j := wait(t, h, id); j.State != host.StateCompleted || j.Attempt != 2 {
		t.Fatalf("%s attempt %d", j.State, j.Attempt)
	}
}

func TestResultOverTheCapFailsTheAttempt(t *testing.T) {
	h, _ := openHost(t, func(c *host.Config) { c.MaxResultBytes = 64 })
	id := submit(t, h, host.JobSpec{Task: "chaos.echo", Args: map[string]string{"big": strings.Repeat("x", 100)}})
	j := wait(t, h, id)
	if j.State != host.StateFailed || j.Attempt != 1 || j.Error == nil || j.Error.Kind != "result_too_large" || !strings.Contains(j.Error.Message, "64 byte limit") {
		t.Fatalf("%s attempt %d %+v", j.State, j.Attempt, j.Error)
	}
	if len(j.Result) != 0 {
		t.Fatal("oversized result was stored")
	}
}
