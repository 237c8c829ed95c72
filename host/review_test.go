package host_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// These tests pin defects an adversarial review of the Go API found: each
// failed before its fix.

// A value the store cannot encode used to be accepted, then refused with
// its whole commit, which failed the host for every caller.
func TestUnstorableSpecFailsOnlyItsOwnCall(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	// With dispatch paused, a run-at in the past stays in the record
	// instead of being cleared by a dispatch in the same round.
	if err := h.PauseDispatch(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", RunAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	if !errors.Is(err, host.ErrInvalid) {
		t.Fatalf("run-at in year 10000: %v, want ErrInvalid", err)
	}
	specs := make([]host.JobSpec, 1000)
	for i := range specs {
		specs[i] = host.JobSpec{Task: "chaos.noop"}
	}
	specs[999].RunAt = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := h.SubmitMany(ctx, specs); !errors.Is(err, host.ErrInvalid) {
		t.Fatalf("SubmitMany with one bad run-at: %v, want ErrInvalid", err)
	}
	// An odd but valid zone is stored (in UTC), not refused.
	odd := time.Now().Add(time.Hour).In(time.FixedZone("odd", 23*3600+59*60))
	id, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", RunAt: odd})
	if err != nil {
		t.Fatalf("run-at in a +23:59 zone: %v", err)
	}
	j, err := h.Get(ctx, id)
	if err != nil || !j.RunAt.Equal(odd) {
		t.Fatalf("Get: %v, run-at %v, want %v", err, j.RunAt, odd)
	}
	// The host still takes work and runs it.
	if err := h.ResumeDispatch(ctx); err != nil {
		t.Fatal(err)
	}
	wait(t, h, submit(t, h, host.JobSpec{Task: "chaos.noop"}))
	if st, _ := h.Stats(ctx); st.Counts[host.StateQueued]+st.Counts[host.StateCompleted] != 2 {
		t.Fatalf("counts %v, want the delayed job queued and one completed", st.Counts)
	}
}

// Listing a dependency twice in one AddDependencies call counted it twice,
// so its completion never released the job.
func TestAddDependenciesRefusesADuplicateInOneCall(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	a := submit(t, h, host.JobSpec{Task: "chaos.noop"})
	b, err := h.Create(ctx, host.JobSpec{Task: "chaos.noop"})
	if err != nil {
		t.Fatal(err)
	}
	err = h.AddDependencies(ctx, b, host.After(a, a)...)
	if !errors.Is(err, host.ErrInvalid) || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("AddDependencies(a, a): %v, want ErrInvalid naming the duplicate", err)
	}
	if j, _ := h.Get(ctx, b); len(j.DependsOn) != 0 {
		t.Fatalf("refused call left dependencies %v", j.DependsOn)
	}
	if err := h.AddDependencies(ctx, b, host.After(a)...); err != nil {
		t.Fatal(err)
	}
	if err := h.SubmitCreated(ctx, b); err != nil {
		t.Fatal(err)
	}
	if j := wait(t, h, b); j.State != host.StateCompleted {
		t.Fatalf("b ended %s", j.State)
	}
}

// A schedule template could be accepted and then fail every firing: each
// run adds two labels of the host's own.
func TestScheduleTemplateLeavesRoomForTheHostsLabels(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	labels := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("l%d", i)] = "v"
		}
		return m
	}
	_, err := h.CreateSchedule(ctx, host.ScheduleSpec{Name: "full", Cron: "@hourly", Job: host.JobSpec{Task: "chaos.noop", Labels: labels(63)}})
	if !errors.Is(err, host.ErrInvalid) || !strings.Contains(err.Error(), "at most 62") {
		t.Fatalf("63 template labels: %v, want ErrInvalid saying at most 62", err)
	}
	id, err := h.CreateSchedule(ctx, host.ScheduleSpec{Name: "ok", Cron: "@hourly", Job: host.JobSpec{Task: "chaos.noop", Labels: labels(62)}})
	if err != nil {
		t.Fatal(err)
	}
	job, err := h.TriggerSchedule(ctx, id)
	if err != nil {
		t.Fatalf("trigger of a 62-label template: %v", err)
	}
	j := wait(t, h, job)
	if len(j.Labels) != 64 || j.Labels[host.LabelSchedule] != id {
		t.Fatalf("run has %d labels, schedule label %q; want 64 and %s", len(j.Labels), j.Labels[host.LabelSchedule], id)
	}
	// A name equal to another schedule's id would be unreachable by name.
	if _, err := h.CreateSchedule(ctx, host.ScheduleSpec{Name: id, Cron: "@hourly", Job: host.JobSpec{Task: "chaos.noop"}}); !errors.Is(err, host.ErrInvalid) {
		t.Fatalf("schedule named after another's id: %v, want ErrInvalid", err)
	}
	if _, err := h.CreateSchedule(ctx, host.ScheduleSpec{Name: "bad\xff", Cron: "@hourly", Job: host.JobSpec{Task: "chaos.noop"}}); !errors.Is(err, host.ErrInvalid) {
		t.Fatalf("non-UTF-8 schedule name: %v, want ErrInvalid", err)
	}
}

// Adding several jobs to a group is all or none.
func TestAddJobsToGroupIsAllOrNothing(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	g, err := h.CreateGroup(ctx, host.GroupSpec{Name: "seq", Sequential: true})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := h.Create(ctx, host.JobSpec{Task: "chaos.noop"})
	b, _ := h.Create(ctx, host.JobSpec{Task: "chaos.noop"})
	for _, tc := range []struct {
		name string
		ids  []string
		is   error
	}{
		{"unknown job last", []string{a, b, "nope"}, host.ErrNotFound},
		{"listed twice", []string{a, b, a}, host.ErrInvalid},
		{"none", nil, host.ErrInvalid},
	} {
		if err := h.AddJobsToGroup(ctx, g, tc.ids...); !errors.Is(err, tc.is) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.is)
		}
	}
	if gr, _ := h.GetGroup(ctx, g); len(gr.Jobs) != 0 {
		t.Fatalf("refused adds left members %v", gr.Jobs)
	}
	// b already waits for a: a sequential add in the order b, a would
	// make a wait for b too.
	if err := h.AddDependencies(ctx, b, host.After(a)...); err != nil {
		t.Fatal(err)
	}
	if err := h.AddJobsToGroup(ctx, g, b, a); !errors.Is(err, host.ErrCycle) {
		t.Fatalf("sequential add closing a cycle: %v, want ErrCycle", err)
	}
	if err := h.AddJobsToGroup(ctx, g, a, b); err != nil {
		t.Fatal(err)
	}
	if err := h.SubmitGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	if gr, err := h.WaitGroup(ctx, g); err != nil || gr.Outcome != "completed" {
		t.Fatalf("WaitGroup: %v, %+v", err, gr)
	}
}

// Read paths answered with the store's own errors, which callers cannot
// match with the host's sentinels.
func TestReadPathErrorsAreTheHostsSentinels(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	empty, err := h.CreateGroup(ctx, host.GroupSpec{Name: "empty"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		is   error
	}{
		{"list bad state", listErr(t, h, host.ListFilter{States: []host.State{"bogus"}}), host.ErrInvalid},
		{"list huge limit", listErr(t, h, host.ListFilter{Limit: 1 << 40}), host.ErrInvalid},
		{"list bad cursor", listErr(t, h, host.ListFilter{Before: "nope"}), host.ErrInvalid},
		{"list upper-case cursor", listErr(t, h, host.ListFilter{Before: strings.ToUpper(empty)}), host.ErrInvalid},
		{"list groups bad cursor", func() error { _, _, err := h.ListGroups(ctx, "nope", 10); return err }(), host.ErrInvalid},
		{"list groups huge limit", func() error { _, _, err := h.ListGroups(ctx, "", 1<<40); return err }(), host.ErrInvalid},
		{"get unknown group", func() error { _, err := h.GetGroup(ctx, "nope"); return err }(), host.ErrNotFound},
		{"wait group without id", func() error { _, err := h.WaitGroup(ctx, ""); return err }(), host.ErrNotFound},
	} {
		if !errors.Is(tc.err, tc.is) || strings.Contains(tc.err.Error(), "  ") {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.is)
		}
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"List":       listErr(t, h, host.ListFilter{}),
		"GetGroup":   func() error { _, err := h.GetGroup(ctx, empty); return err }(),
		"ListGroups": func() error { _, _, err := h.ListGroups(ctx, "", 10); return err }(),
	} {
		if !errors.Is(err, host.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func listErr(t *testing.T, h *host.Host, f host.ListFilter) error {
	_, _, err := h.List(ctxT(t), f)
	return err
}

// WaitGroup on a group without members waits for the members added later:
// a consumer may start before its producer.
func TestWaitGroupStartedBeforeTheFirstMember(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	g, err := h.CreateGroup(ctx, host.GroupSpec{Name: "filled later"})
	if err != nil {
		t.Fatal(err)
	}
	// An empty group is waited on, not refused: the wait ends only at
	// the caller's deadline.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = h.WaitGroup(short, g)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitGroup on an empty group: %v, want it to wait until the deadline", err)
	}
	type result struct {
		g   *host.Group
		err error
	}
	done := make(chan result, 1)
	go func() {
		gr, err := h.WaitGroup(ctx, g)
		done <- result{gr, err}
	}()
	// Whether the waiter registers before or after this Submit, it must
	// return the group once its member completed.
	id := submit(t, h, host.JobSpec{Task: "chaos.noop", Group: g})
	r := <-done
	if r.err != nil || !r.g.Done || r.g.Outcome != "completed" || len(r.g.Jobs) != 1 || r.g.Jobs[0] != id {
		t.Fatalf("WaitGroup: %v, %+v", r.err, r.g)
	}
}

// A template stored before the host reserved batchhost.* labels and capped
// backoff still fires after an upgrade: the rules apply to new input.
func TestOldScheduleTemplateStillFires(t *testing.T) {
	h, cfg := openHost(t, nil)
	ctx := ctxT(t)
	id, err := h.CreateSchedule(ctx, host.ScheduleSpec{Name: "old", Cron: "@hourly", Job: host.JobSpec{Task: "chaos.noop"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := host.StoreOldTemplate(h, id, map[string]string{"batchhost.owner": "ops", "x": "y"}, 20*365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	closeHost(t, h)
	h = reopen(t, cfg)
	job, err := h.TriggerSchedule(ctx, "old")
	if err != nil {
		t.Fatalf("a stored template no longer fires: %v", err)
	}
	j := wait(t, h, job)
	if j.Labels["x"] != "y" || j.Labels["batchhost.owner"] != "" || j.Labels[host.LabelSchedule] != id {
		t.Fatalf("run labels %v", j.Labels)
	}
}
