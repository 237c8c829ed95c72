package host_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/hosttest"
)

// fired reads schedule events until n firings (fired or skipped) of
// schedule id have been seen, stepping the clock to each next timer.
func stepFirings(t *testing.T, clk *hosttest.Clock, rec *recorder, id string, n int) []host.Event {
	t.Helper()
	var out []host.Event
	for len(out) < n {
		next, ok := clk.NextTimer()
		if !ok {
			t.Fatalf("no timer armed after %d firings", len(out))
		}
		clk.Set(next)
		evs := rec.until(t, func(e host.Event) bool { return e.Type == host.EventSchedule && e.Schedule == id })
		out = append(out, evs[len(evs)-1])
	}
	return out
}

func scheduleEvents(t *testing.T, h *host.Host) *recorder {
	return record(t, h, host.EventFilter{Types: []host.EventType{host.EventSchedule}})
}

func TestScheduleFiresAcrossDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	clk := hosttest.NewClock(time.Date(2026, 3, 27, 12, 0, 0, 0, berlin))
	h, _ := openHost(t, func(c *host.Config) { c.Clock = clk })
	rec := scheduleEvents(t, h)
	id, err := h.CreateSchedule(ctxT(t), host.ScheduleSpec{Name: "nightly", Cron: "30 2 * * *", TimeZone: "Europe/Berlin",
		Overlap: host.OverlapAllow, Job: host.JobSpec{Task: "chaos.noop"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range stepFirings(t, clk, rec, id, 4) {
		if e.Job == "" {
			t.Fatalf("firing skipped: %s", e.Skipped)
		}
		got = append(got, e.Time.In(berlin).Format("01-02 15:04 MST"))
	}
	// 29 March: 02:30 does not exist (clocks jump from 02:00 to 03:00):
	// it fires right after the gap instead of skipping the day.
	want := "03-28 02:30 CET,03-29 03:30 CEST,03-30 02:30 CEST,03-31 02:30 CEST"
	if strings.Join(got, ",") != want {
		t.Errorf("spring: fired %v\nwant %s", got, want)
	}
	// Autumn: 02:30 exists twice on 25 October; it fires once. Paused
	// while the clock jumps, so that nothing fires for the months between.
	h.PauseSchedule(ctxT(t), id)
	clk.Set(time.Date(2026, 10, 23, 12, 0, 0, 0, berlin))
	h.ResumeSchedule(ctxT(t), id)
	got = nil
	for _, e := range stepFirings(t, clk, rec, id, 3) {
		got = append(got, e.Time.In(berlin).Format("01-02 15:04 MST"))
	}
	want = "10-24 02:30 CEST,10-25 02:30 CEST,10-26 02:30 CET"
	if strings.Join(got, ",") != want {
		t.Errorf("autumn: fired %v\nwant %s", got, want)
	}
}

func TestScheduleOverlapPolicies(t *testing.T) {
	for _, tc := range []struct {
		overlap host.Overlap
		jobs    int // runs created by 4 firings while the first sleeps
	}{
		{host.OverlapSkip, 1},
		{host.OverlapAllow, 4},
		{host.OverlapQueue, 2},
	} {
		t.Run(string(tc.overlap), func(t *testing.T) {
			clk := hosttest.NewClock(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
			h, _ := openHost(t, func(c *host.Config) { c.Clock = clk })
			ctx := ctxT(t)
			rec := scheduleEvents(t, h)
			states := record(t, h, host.EventFilter{Types: []host.EventType{host.EventJobState}})
			id, err := h.CreateSchedule(ctx, host.ScheduleSpec{Name: "s", Cron: "@every 1m", Overlap: tc.overlap,
				Job: host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 60000}}})
			if err != nil {
				t.Fatal(err)
			}
			first := stepFirings(t, clk, rec, id, 1)[0]
			states.until(t, stateEvent(first.Job, host.StateRunning))
			evs := append([]host.Event{first}, stepFirings(t, clk, rec, id, 3)...)
			jobs := map[string]bool{}
			for _, e := range evs {
				if e.Job != "" {
					jobs[e.Job] = true
				} else if !strings.Contains(e.Skipped, "unfinished") && !strings.Contains(e.Skipped, "waits") {
					t.Errorf("skip reason %q", e.Skipped)
				}
			}
			if len(jobs) != tc.jobs {
				t.Fatalf("%d runs for 4 firings, want %d (%+v)", len(jobs), tc.jobs, evs)
			}
			if tc.overlap == host.OverlapQueue {
				s, _ := h.GetSchedule(ctx, "s")
				j, _ := h.Get(ctx, s.LastJob)
				if j.State != host.StateWaiting || len(j.DependsOn) != 1 || j.DependsOn[0].Job != first.Job {
					t.Fatalf("queued run: %s %+v", j.State, j.DependsOn)
				}
			}
			for id := range jobs {
				h.Cancel(ctx, id)
			}
		})
	}
}

func TestMissedRunsAfterDowntime(t *testing.T) {
	for _, tc := range []struct {
		missed host.Missed
		want   int // runs fired for 3 hours of downtime
	}{{host.MissedSkip, 1}, {host.MissedNone, 0}} {
		t.Run(string(tc.missed), func(t *testing.T) {
			clk := hosttest.NewClock(time.Date(2026, 6, 1, 10, 0, 30, 0, time.UTC))
			h, cfg := openHost(t, func(c *host.Config) { c.Clock = clk })
			ctx := ctxT(t)
			if _, err := h.CreateSchedule(ctx, host.ScheduleSpec{Name: "minutely", Cron: "@every 1m", Missed: tc.missed,
				Job: host.JobSpec{Task: "chaos.noop"}}); err != nil {
				t.Fatal(err)
			}
			closeHost(t, h)
			clk.Advance(3 * time.Hour)
			h = reopen(t, cfg)
			// Start returns once its catch-up firing is durable.
			s, err := h.GetSchedule(ctx, "minutely")
			if err != nil {
				t.Fatal(err)
			}
			jobs, _, _ := h.List(ctx, host.ListFilter{})
			if len(jobs) != tc.want {
				t.Fatalf("%d runs after 3h down (180 missed), want %d", len(jobs), tc.want)
			}
			if !s.Next[0].After(clk.Now()) {
				t.Fatalf("next fire %s is not after now %s", s.Next[0], clk.Now())
			}
		})
	}
}

func TestScheduleBadInput(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	ok := host.JobSpec{Task: "chaos.noop"}
	if _, err := h.CreateSchedule(ctx, host.ScheduleSpec{Name: "taken", Cron: "@hourly", Job: ok}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		spec host.ScheduleSpec
		is   error
		msg  string
	}{
		{host.ScheduleSpec{Name: "a", Cron: "61 * * * *", Job: ok}, host.ErrInvalid, `minute field "61"`},
		{host.ScheduleSpec{Name: "a", Cron: "0 3 * 13 *", Job: ok}, host.ErrInvalid, `month field "13"`},
		{host.ScheduleSpec{Name: "a", Cron: "0 3 * *", Job: ok}, host.ErrInvalid, "want 5 fields"},
		{host.ScheduleSpec{Name: "a", Cron: "@daily", TimeZone: "Europe/Atlantis", Job: ok}, host.ErrInvalid, "unknown time zone"},
		{host.ScheduleSpec{Name: "a", Cron: "@daily", Job: host.JobSpec{Task: "chaos.nope"}}, host.ErrUnknownTask, "chaos.nope"},
		{host.ScheduleSpec{Name: "taken", Cron: "@daily", Job: ok}, host.ErrInvalid, "already exists"},
		{host.ScheduleSpec{Name: "a", Cron: "@every 100ms", Job: ok}, host.ErrInvalid, "below the minimum"},
		{host.ScheduleSpec{Name: "", Cron: "@daily", Job: ok}, host.ErrInvalid, "name is required"},
		{host.ScheduleSpec{Name: "a", Cron: "@daily", Job: ok, Overlap: "sometimes"}, host.ErrInvalid, "overlap"},
		{host.ScheduleSpec{Name: "a", Cron: "@daily", Job: host.JobSpec{Task: "chaos.noop", Key: "k"}}, host.ErrInvalid, "template"},
	} {
		_, err := h.CreateSchedule(ctx, tc.spec)
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: %v, want %v containing %q", tc.spec, err, tc.is, tc.msg)
		}
	}
	list, _ := h.ListSchedules(ctx)
	if len(list) != 1 {
		t.Fatalf("bad input stored schedules: %d", len(list))
	}
	if err := h.ResumeSchedule(ctx, "taken"); !errors.Is(err, host.ErrState) {
		t.Fatalf("resume of a running schedule: %v", err)
	}
	if err := h.DeleteSchedule(ctx, "nope"); !errors.Is(err, host.ErrNotFound) {
		t.Fatalf("delete unknown: %v", err)
	}
}

func TestTriggerPauseDeleteSchedule(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	if _, err := h.CreateSchedule(ctx, host.ScheduleSpec{Name: "weekly", Cron: "0 4 * * sun", Paused: true, Jitter: 24 * time.Hour,
		Job: host.JobSpec{Task: "chaos.echo", Args: map[string]string{"from": "schedule"}, MaxAttempts: 5, Timeout: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	id, err := h.TriggerSchedule(ctx, "weekly")
	if err != nil {
		t.Fatal(err)
	}
	// A manual trigger means now: the schedule's jitter is not applied.
	if j, err := h.Get(ctx, id); err != nil || j.RunAt != nil || j.MaxAttempts != 5 {
		t.Fatalf("triggered run %+v, %v", j, err)
	}
	j := wait(t, h, id)
	if j.State != host.StateCompleted || j.Schedule == "" || j.Labels[host.LabelSchedule] != j.Schedule {
		t.Fatalf("triggered run %+v", j)
	}
	s, _ := h.GetSchedule(ctx, "weekly")
	if s.LastJob != id || s.LastState != host.StateCompleted || !s.Paused || len(s.Next) != 0 ||
		s.MaxAttempts != 5 || time.Duration(s.Timeout) != time.Minute {
		t.Fatalf("schedule after trigger %+v", s)
	}
	if err := h.ResumeSchedule(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if s, _ = h.GetSchedule(ctx, s.ID); len(s.Next) != 5 || s.Next[0].Weekday() != time.Sunday {
		t.Fatalf("next fire times %v", s.Next)
	}
	if err := h.DeleteSchedule(ctx, "weekly"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.GetSchedule(ctx, "weekly"); !errors.Is(err, host.ErrNotFound) {
		t.Fatalf("deleted schedule: %v", err)
	}
	if j, err := h.Get(ctx, id); err != nil || j.State != host.StateCompleted {
		t.Fatalf("the run outlives its schedule: %v", err)
	}
}

func TestScheduleKill9NeverFiresOneTimeTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	dir := t.TempDir()
	tag := fmt.Sprintf("BH_TEST_TAG=%d", rand.Int64())
	cfg := host.Config{DataDir: dir, PluginDir: pluginDir, DefaultBackoff: fastBackoff}
	{
		h := reopen(t, cfg)
		if _, err := h.CreateSchedule(ctxT(t), host.ScheduleSpec{Name: "every-second", Cron: "@every 1s", Overlap: host.OverlapAllow,
			Job: host.JobSpec{Task: "chaos.noop"}}); err != nil {
			t.Fatal(err)
		}
		closeHost(t, h)
	}
	for round := range 4 {
		p := startHelper(t, helperSpec{DataDir: dir, PluginDir: pluginDir, Tag: tag, Workers: 2})
		// Let it fire a few times, then kill it mid-flight.
		p.killAfter(t, 2+round, tag)
	}
	h := reopen(t, cfg)
	ctx := ctxT(t)
	perFire := map[string]int{}
	for before := ""; ; {
		page, next, err := h.List(ctx, host.ListFilter{Limit: 1000, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page {
			perFire[j.Labels[host.LabelFireTime]]++
		}
		if next == "" {
			break
		}
		before = next
	}
	if len(perFire) < 10 {
		t.Fatalf("only %d firings over 4 lives of the host", len(perFire))
	}
	for at, n := range perFire {
		if n != 1 {
			t.Errorf("fire time %s has %d jobs", at, n)
		}
	}
	t.Logf("%d firings, each with exactly one job", len(perFire))
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
	// The engine handles the timer and arms the next: wait for a timer
	// armed by the schedule's fire time (the clock says when one is armed).
	deadline := time.After(10 * time.Second)
	for {
		if next, armed := clk.NextTimer(); armed && !next.After(fireAt) {
			break
		}
		select {
		case <-clk.Armed():
		case <-deadline:
			next, armed := clk.NextTimer()
			t.Fatalf("armed timer %v %v; want the schedule's %v", armed, next, fireAt)
		}
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

// TestScheduleRunsCarryResources: a schedule's template declares needs
// as a submitted job does, checked the same way (a need beyond the
// capacity is refused with submit's words, and nothing is stored), kept
// with the schedule across a reopen, and every run, fired on time or
// triggered, needs them; a template declaring none gives each run its
// task's default, one declaring zero needs nothing.
func TestScheduleRunsCarryResources(t *testing.T) {
	clk := hosttest.NewClock(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	h, cfg := openHost(t, func(c *host.Config) {
		c.Clock = clk
		c.Capacity = host.Resources{CPU: 2, MemoryMB: 1000}
		c.TaskResources = map[string]host.Resources{"chaos.noop": {MemoryMB: 50}}
	})
	ctx := ctxT(t)

	tooBig := host.JobSpec{Task: "chaos.noop", Resources: &host.Resources{CPU: 3}}
	_, submitErr := h.Submit(ctx, tooBig)
	_, err := h.CreateSchedule(ctx, host.ScheduleSpec{Name: "big", Cron: "@hourly", Job: tooBig})
	if !errors.Is(err, host.ErrInvalid) || submitErr == nil || err.Error() != submitErr.Error() {
		t.Fatalf("a schedule needing 3 CPUs on a host of 2: %v; want submit's refusal: %v", err, submitErr)
	}
	for _, bad := range []host.Resources{{CPU: -1}, {CPU: math.NaN()}, {CPU: math.Inf(1)}, {MemoryMB: -5}, {MemoryMB: 2000}} {
		_, err := h.CreateSchedule(ctx, host.ScheduleSpec{Name: "bad", Cron: "@hourly", Job: host.JobSpec{Task: "chaos.noop", Resources: &bad}})
		if !errors.Is(err, host.ErrInvalid) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("a schedule needing %+v: %v, want ErrInvalid in one line", bad, err)
		}
	}
	if list, err := h.ListSchedules(ctx); err != nil || len(list) != 0 {
		t.Fatalf("refused schedules were stored: %d, %v", len(list), err)
	}

	declared := &host.Resources{CPU: 1.5, MemoryMB: 800}
	want := map[string]*host.Resources{"declared": declared, "default": nil, "none": {}}
	runNeeds := map[string]*host.Resources{"declared": declared, "default": {MemoryMB: 50}, "none": nil}
	ids := map[string]string{}
	for name, r := range want {
		id, err := h.CreateSchedule(ctx, host.ScheduleSpec{Name: name, Cron: "@every 1m", Overlap: host.OverlapAllow,
			Job: host.JobSpec{Task: "chaos.noop", Resources: r}})
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = id
	}
	check := func(when string, h *host.Host) {
		t.Helper()
		for name, r := range want {
			s, err := h.GetSchedule(ctx, name)
			if err != nil || !reflect.DeepEqual(s.Resources, r) {
				t.Fatalf("%s: schedule %s resources %+v, %v; want %+v", when, name, s.Resources, err, r)
			}
			job, err := h.TriggerSchedule(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if j := wait(t, h, job); !reflect.DeepEqual(j.Resources, runNeeds[name]) {
				t.Fatalf("%s: a triggered run of %s needs %+v, want %+v", when, name, j.Resources, runNeeds[name])
			}
		}
	}
	check("created", h)
	closeHost(t, h)
	h = reopen(t, cfg)
	check("reopened", h)

	// Fired on time: the clock reaches each schedule's next minute.
	rec := scheduleEvents(t, h)
	next, ok := clk.NextTimer()
	if !ok {
		t.Fatal("no schedule timer armed")
	}
	clk.Set(next)
	fired := map[string]string{}
	rec.until(t, func(e host.Event) bool {
		if e.Type == host.EventSchedule {
			if e.Job == "" {
				t.Fatalf("firing of %s skipped: %s", e.Schedule, e.Skipped)
			}
			fired[e.Schedule] = e.Job
		}
		return len(fired) == len(ids)
	})
	for name, id := range ids {
		if j := wait(t, h, fired[id]); !reflect.DeepEqual(j.Resources, runNeeds[name]) || j.Schedule != id {
			t.Fatalf("a fired run of %s needs %+v (schedule %s), want %+v", name, j.Resources, j.Schedule, runNeeds[name])
		}
	}
}
