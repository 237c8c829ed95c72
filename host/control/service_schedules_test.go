package control_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
	"github.com/batchhost/batchhost/host/hosttest"
)

// Every schedule operation through the socket: what the client returns is
// what the host says, by id and by name, and firing shows up on Watch as
// schedule events carrying the schedule, the job, or why it was skipped.
func TestSchedulesThroughTheSocket(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	// Local, so that creation times read the same from the host and
	// through the client (which returns local times, as the host does).
	clk := hosttest.NewClock(time.Date(2026, 6, 1, 12, 0, 0, 0, time.Local))
	f := serve(t, func(c *host.Config) { c.Clock = clk })
	ctx := ctxT(t)
	w, err := f.c.Watch(ctx, host.EventFilter{Types: []host.EventType{host.EventSchedule}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	gid, err := f.c.CreateGroup(ctx, host.GroupSpec{Name: "maintenance"})
	if err != nil {
		t.Fatal(err)
	}
	nightly, err := f.c.CreateSchedule(ctx, host.ScheduleSpec{Name: "nightly", Cron: "0 3 * * *", TimeZone: "Europe/Berlin",
		Job: host.JobSpec{Task: "chaos.echo", Args: map[string]int{"n": 1}, Priority: host.PriorityHigh, Group: gid,
			Labels: map[string]string{"team": "docs"}, MaxAttempts: 2, Timeout: time.Minute},
		Overlap: host.OverlapQueue, Missed: host.MissedNone, Jitter: 5 * time.Minute, Paused: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.c.GetSchedule(ctx, "nightly")
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != nightly || s.TimeZone != "Europe/Berlin" || s.Task != "chaos.echo" || string(s.Args) != `{"n":1}` ||
		s.Priority != host.PriorityHigh || s.Group != gid || s.Labels["team"] != "docs" || s.Overlap != host.OverlapQueue ||
		s.Missed != host.MissedNone || time.Duration(s.Jitter) != 5*time.Minute || !s.Paused || len(s.Next) != 0 {
		t.Fatalf("created schedule: %+v", s)
	}

	// Triggering a paused schedule fires it now; the event names both.
	jid, err := f.c.TriggerSchedule(ctx, nightly)
	if err != nil {
		t.Fatal(err)
	}
	e, err := w.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != host.EventSchedule || e.Schedule != nightly || e.Job != jid || e.Skipped != "" || !e.Time.Equal(clk.Now()) {
		t.Fatalf("trigger event: %+v", e)
	}
	j, err := f.c.Get(ctx, jid)
	if err != nil {
		t.Fatal(err)
	}
	if j.Schedule != nightly || j.Group != gid || j.RunAt != nil {
		t.Fatalf("triggered job: %+v", j)
	}
	if err := f.c.ResumeSchedule(ctx, "nightly"); err != nil {
		t.Fatal(err)
	}
	s, err = f.c.GetSchedule(ctx, nightly)
	if err != nil {
		t.Fatal(err)
	}
	if s.Paused || s.LastJob != jid || s.LastState == "" || len(s.Next) != 5 {
		t.Fatalf("resumed schedule: %+v", s)
	}
	// Fire times read in the schedule's zone: 03:00 in Berlin.
	if got := s.Next[0].Format("2006-01-02 15:04 MST"); got != "2026-06-02 03:00 CEST" || s.Next[0].Location().String() != berlin.String() {
		t.Fatalf("next fire %s (%s)", got, s.Next[0].Location())
	}
	direct, err := f.h.GetSchedule(ctx, nightly)
	if err != nil {
		t.Fatal(err)
	}
	viaSocket, _ := json.Marshal(s)
	local, _ := json.Marshal(direct)
	if string(viaSocket) != string(local) {
		t.Fatalf("schedule differs through the socket:\n%s\n%s", viaSocket, local)
	}

	// A real firing, then one skipped because the first run is unfinished.
	tick, err := f.c.CreateSchedule(ctx, host.ScheduleSpec{Name: "tick", Cron: "@every 1m",
		Job: host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 60000}}})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	fired := recvSchedule(t, w, tick)
	if fired.Job == "" || fired.Skipped != "" {
		t.Fatalf("first firing: %+v", fired)
	}
	clk.Advance(time.Minute)
	skipped := recvSchedule(t, w, tick)
	if skipped.Job != "" || !strings.Contains(skipped.Skipped, "unfinished") {
		t.Fatalf("second firing: %+v", skipped)
	}
	list, err := f.c.ListSchedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "nightly" || list[1].Name != "tick" || list[1].LastJob != fired.Job || list[1].LastFire == nil {
		t.Fatalf("ListSchedules: %+v", list)
	}
	if err := f.c.PauseSchedule(ctx, tick); err != nil {
		t.Fatal(err)
	}
	if err := f.c.DeleteSchedule(ctx, "tick"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.GetSchedule(ctx, tick); !errors.Is(err, host.ErrNotFound) {
		t.Fatalf("deleted schedule: %v", err)
	}
	// Its run outlives it.
	if err := f.c.Cancel(ctx, fired.Job); err != nil {
		t.Fatal(err)
	}
	// The triggered run may have come due as the clock moved (its jitter
	// is random) and be finished already.
	if err := f.c.Cancel(ctx, jid); err != nil && !errors.Is(err, host.ErrState) {
		t.Fatal(err)
	}
}

// recvSchedule returns the next schedule event of schedule id.
func recvSchedule(t *testing.T, w *control.EventStream, id string) host.Event {
	t.Helper()
	for {
		e, err := w.Recv()
		if err != nil {
			t.Fatalf("waiting for a firing of %s: %v", id, err)
		}
		if e.Type == host.EventSchedule && e.Schedule == id {
			return e
		}
	}
}

// Bad schedules are refused with the host's own message and sentinel, and
// leave nothing behind.
func TestScheduleErrorsMapBackToHostSentinels(t *testing.T) {
	f := serve(t, nil)
	ctx := ctxT(t)
	job := host.JobSpec{Task: "chaos.noop"}
	if _, err := f.c.CreateSchedule(ctx, host.ScheduleSpec{Name: "dup", Cron: "@hourly", Job: job}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		spec host.ScheduleSpec
		is   error
		want string
	}{
		{"bad field", host.ScheduleSpec{Name: "a", Cron: "61 * * * *", Job: job}, host.ErrInvalid, `minute field "61"`},
		{"field count", host.ScheduleSpec{Name: "a", Cron: "* * *", Job: job}, host.ErrInvalid, "want 5 fields"},
		{"zone", host.ScheduleSpec{Name: "a", Cron: "@daily", TimeZone: "Mars/Olympus", Job: job}, host.ErrInvalid, `unknown time zone "Mars/Olympus"`},
		{"task", host.ScheduleSpec{Name: "a", Cron: "@daily", Job: host.JobSpec{Task: "chaos.nothing"}}, host.ErrUnknownTask, `task "chaos.nothing"`},
		{"duplicate", host.ScheduleSpec{Name: "dup", Cron: "@daily", Job: job}, host.ErrInvalid, `a schedule named "dup" already exists`},
		{"every", host.ScheduleSpec{Name: "a", Cron: "@every 500ms", Job: job}, host.ErrInvalid, "@every 500ms is below the minimum of 1s"},
		{"overlap", host.ScheduleSpec{Name: "a", Cron: "@daily", Job: job, Overlap: "sometimes"}, host.ErrInvalid, `unknown overlap policy "sometimes"`},
		{"missed", host.ScheduleSpec{Name: "a", Cron: "@daily", Job: job, Missed: "all"}, host.ErrInvalid, `unknown missed-run policy "all"`},
		{"jitter", host.ScheduleSpec{Name: "a", Cron: "@daily", Job: job, Jitter: -time.Second}, host.ErrInvalid, "jitter -1s must be between 0 and 24h"},
		{"key", host.ScheduleSpec{Name: "a", Cron: "@daily", Job: host.JobSpec{Task: "chaos.noop", Key: "k"}}, host.ErrInvalid, "cannot set a key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.c.CreateSchedule(ctx, tc.spec)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("CreateSchedule = %v, want %v containing %q", err, tc.is, tc.want)
			}
		})
	}
	if list, err := f.c.ListSchedules(ctx); err != nil || len(list) != 1 {
		t.Fatalf("after refusals: %+v, %v", list, err)
	}
	_, hostErr := f.h.GetSchedule(ctx, "nope")
	if _, err := f.c.GetSchedule(ctx, "nope"); !errors.Is(err, host.ErrNotFound) || err.Error() != hostErr.Error() {
		t.Fatalf("GetSchedule unknown: %v (host says %v)", err, hostErr)
	}
	for name, op := range map[string]func() error{
		"pause":   func() error { return f.c.PauseSchedule(ctx, "nope") },
		"resume":  func() error { return f.c.ResumeSchedule(ctx, "nope") },
		"delete":  func() error { return f.c.DeleteSchedule(ctx, "nope") },
		"trigger": func() error { _, err := f.c.TriggerSchedule(ctx, "nope"); return err },
	} {
		if err := op(); !errors.Is(err, host.ErrNotFound) {
			t.Errorf("%s of an unknown schedule: %v", name, err)
		}
	}
	if err := f.c.ResumeSchedule(ctx, "dup"); !errors.Is(err, host.ErrState) {
		t.Fatalf("resume of a running schedule: %v", err)
	}
}
