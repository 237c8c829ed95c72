package control

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/host"
	pb "github.com/batchhost/batchhost/proto/controlpb"
)

// Every field of every type makes the round trip: a field added to a host
// type and forgotten in convert.go fails here (the fixtures set every
// field; see fullJob).
func TestRoundTrips(t *testing.T) {
	now := time.Now().Round(0)
	later := now.Add(time.Second)
	failure := &host.JobError{Kind: "plugin_crashed", Message: "boom", Retryable: true, Exit: "signal: killed", Stderr: "panic: x", Dependency: "d"}
	job := &host.Job{
		ID: "j", Task: "chaos.echo", State: host.StatePaused, Priority: host.PriorityCritical,
		Args: json.RawMessage(`{"a":1}`), Result: json.RawMessage(`{"b":2}`), Error: failure,
		Attempt: 2, MaxAttempts: 5, Group: "g",
		DependsOn: []host.Dep{{Job: "x", Policy: host.DepCancel}, {Job: "y", Policy: host.DepIgnore}},
		Key:       "k", Labels: map[string]string{"l": "v"}, Schedule: "s",
		Progress: host.Progress{Fraction: 0.5, Message: "half"}, Timeout: host.Duration(time.Minute),
		CreatedAt: now, QueuedAt: &now, StartedAt: &later, FinishedAt: &later, RunAt: &later,
		PausedFrom: host.StateRunning,
		Attempts:   []host.Attempt{{Attempt: 1, Host: "h-1", StartedAt: now, FinishedAt: &later, Error: failure}, {Attempt: 2, StartedAt: later}},
		Resources:  &host.Resources{CPU: 1.5, MemoryMB: 800},
	}
	if diff := cmp.Diff(job, fromProtoJob(toProtoJob(job))); diff != "" {
		t.Errorf("job (-want +got):\n%s", diff)
	}
	checkAllSet(t, "Job", job)

	counts := map[host.State]int{host.StateCompleted: 2, host.StateFailed: 1}
	group := &host.Group{ID: "g", Name: "n", Sequential: true, CancelOnFailure: true, CreatedAt: now, Counts: counts,
		Progress: 0.75, Done: true, Outcome: "partial", FinishedAt: &later, Jobs: []string{"a", "b"}}
	if diff := cmp.Diff(group, fromProtoGroup(toProtoGroup(group))); diff != "" {
		t.Errorf("group (-want +got):\n%s", diff)
	}
	checkAllSet(t, "Group", group)

	stats := host.Stats{Counts: counts, QueueDepth: map[string]int{"low": 1, "normal": 2, "high": 3, "critical": 4}, BusyWorkers: 3, MaxWorkers: 8, DispatchPaused: true,
		Throttled: []host.Throttle{{Name: "chaos", Next: now}, {Name: "docs.ocr", Next: later}},
		Capacity:  &host.Resources{CPU: 4, MemoryMB: 8000}, CapacityInUse: host.Resources{CPU: 0.5, MemoryMB: 100}, MemoryPressure: true, DamagedJobs: 3}
	if diff := cmp.Diff(stats, fromProtoStats(toProtoStats(stats))); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	checkAllSet(t, "Stats", stats)

	log := host.LogRecord{Time: now, Attempt: 2, Level: "warn", Message: "m", Fields: json.RawMessage(`{"i":1}`)}
	ev := host.Event{Type: host.EventJobLog, Time: now, Job: "j", Task: "t", Group: "g", State: host.StateRunning, PrevState: host.StateQueued,
		Attempt: 2, Progress: &host.Progress{Fraction: 0.1, Message: "p"}, Log: &log, Error: failure,
		GroupStatus: &host.GroupStatus{Counts: counts, Progress: 0.2, Done: true, Outcome: "failed"}, Dropped: 3, Schedule: "s", Skipped: "overlap"}
	if diff := cmp.Diff(ev, fromProtoEvent(toProtoEvent(&ev))); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	checkAllSet(t, "Event", &ev)

	filter := host.EventFilter{Jobs: []string{"a"}, Groups: []string{"g"}, Types: []host.EventType{host.EventGroup}}
	if diff := cmp.Diff(filter, fromProtoFilter(toProtoFilter(filter))); diff != "" {
		t.Errorf("filter (-want +got):\n%s", diff)
	}

	spec := host.JobSpec{Task: "chaos.echo", Args: json.RawMessage(`{"a":1}`), Priority: host.PriorityLow, MaxAttempts: 4,
		Backoff: &host.Backoff{Initial: time.Second, Multiplier: 3, Max: time.Minute, Jitter: 0.1}, Timeout: time.Minute, StallTimeout: time.Second,
		RunAt: later, Delay: time.Hour, Key: "k", Labels: map[string]string{"l": "v"}, DependsOn: host.After("x"), Group: "g",
		Resources: &host.Resources{CPU: 0.25, MemoryMB: 64}}
	ps, err := toProtoSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	back, err := fromProtoSpec(ps)
	if err != nil {
		t.Fatal(err)
	}
	spec.DependsOn[0].Policy = host.DepCancel // unset means cancel
	if diff := cmp.Diff(spec, back); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	checkAllSet(t, "JobSpec", &spec)

	task := host.TaskInfo{Name: "chaos.noop", Plugin: "chaos", Version: "1", Description: "d"}
	if got := fromProtoTask(toProtoTask(task)); got != task {
		t.Errorf("task %+v, want %+v", got, task)
	}
}

// checkAllSet fails when a fixture leaves a field at its zero value, so
// that the round trips above really cover every field.
func checkAllSet(t *testing.T, name string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return // JobSpec has no JSON tags; its fields are exported names
	}
	for k, val := range m {
		if val == nil || val == "" || val == false || val == float64(0) {
			t.Errorf("%s fixture leaves %s unset", name, k)
		}
	}
}

func TestUnknownWireValuesAreRefusedInSpecs(t *testing.T) {
	if _, err := fromProtoSpec(&pb.JobSpec{Task: "a.b", Priority: 42}); err == nil {
		t.Error("unknown priority accepted")
	}
	if _, err := fromProtoSpec(&pb.JobSpec{Task: "a.b", DependsOn: []*pb.Dep{{Job: "x", Policy: 42}}}); err == nil {
		t.Error("unknown dependency policy accepted")
	}
	if _, err := fromProtoSpec(nil); err == nil {
		t.Error("nil spec accepted")
	}
	// The client side: what the wire cannot carry is refused, not wrapped
	// around or replaced by a default.
	if _, err := toProtoSpec(host.JobSpec{Task: "a.b", MaxAttempts: 1<<32 + 1}); !errors.Is(err, host.ErrInvalid) {
		t.Errorf("max attempts 2^32+1: %v, want ErrInvalid", err)
	}
	if _, err := toProtoSpec(host.JobSpec{Task: "a.b", DependsOn: []host.Dep{{Job: "x", Policy: "sometimes"}}}); !errors.Is(err, host.ErrInvalid) {
		t.Errorf("dependency policy \"sometimes\": %v, want ErrInvalid", err)
	}
}

func TestScheduleRoundTrips(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	now := time.Now().Round(0)
	fire := time.Date(2026, 6, 2, 3, 0, 0, 0, berlin)
	s := &host.Schedule{
		ID: "s", Name: "nightly", Cron: "0 3 * * *", TimeZone: "Europe/Berlin", Task: "chaos.echo",
		Args: json.RawMessage(`{"a":1}`), Priority: host.PriorityCritical, Group: "g", Labels: map[string]string{"l": "v"},
		MaxAttempts: 7, Timeout: host.Duration(time.Hour), Resources: &host.Resources{CPU: 0.25, MemoryMB: 64},
		Overlap: host.OverlapQueue, Missed: host.MissedNone, Jitter: host.Duration(time.Minute), Paused: true, CreatedAt: now,
		Next: []time.Time{fire, fire.AddDate(0, 0, 1)}, LastFire: &fire, LastJob: "j", LastState: host.StateFailed,
	}
	back := fromProtoSchedule(toProtoSchedule(s))
	if diff := cmp.Diff(s, back); diff != "" {
		t.Errorf("schedule (-want +got):\n%s", diff)
	}
	checkFieldsSet(t, "Schedule", *s)
	// Fire times come back in the schedule's zone, not merely equal.
	if back.Next[0].Location().String() != "Europe/Berlin" || back.LastFire.Location().String() != "Europe/Berlin" {
		t.Errorf("fire times in %s and %s", back.Next[0].Location(), back.LastFire.Location())
	}
	for _, o := range []host.Overlap{host.OverlapSkip, host.OverlapAllow} {
		s.Overlap = o
		if got := fromProtoSchedule(toProtoSchedule(s)).Overlap; got != o {
			t.Errorf("overlap %s came back as %s", o, got)
		}
	}

	spec := host.ScheduleSpec{Name: "n", Cron: "@every 15m", TimeZone: "UTC",
		Job: host.JobSpec{Task: "chaos.echo", Args: json.RawMessage(`{"a":1}`), Priority: host.PriorityLow, MaxAttempts: 4, Timeout: time.Minute, Group: "g",
			Resources: &host.Resources{CPU: 1.5, MemoryMB: 800}},
		Overlap: host.OverlapAllow, Missed: host.MissedNone, Jitter: time.Second, Paused: true}
	ps, err := toProtoScheduleSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fromProtoScheduleSpec(ps)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spec, got); diff != "" {
		t.Errorf("schedule spec (-want +got):\n%s", diff)
	}
	checkFieldsSet(t, "ScheduleSpec", spec)
	// Unset policies stay unset: the host applies its defaults.
	ps, _ = toProtoScheduleSpec(host.ScheduleSpec{Name: "n", Cron: "@daily", Job: host.JobSpec{Task: "chaos.noop"}})
	if got, _ := fromProtoScheduleSpec(ps); got.Overlap != "" || got.Missed != "" {
		t.Errorf("defaults came back as %q, %q", got.Overlap, got.Missed)
	}

	ev := host.Event{Type: host.EventSchedule, Time: fire, Schedule: "s", Job: "j"}
	if diff := cmp.Diff(ev, fromProtoEvent(toProtoEvent(&ev))); diff != "" {
		t.Errorf("fired event (-want +got):\n%s", diff)
	}
	ev = host.Event{Type: host.EventSchedule, Time: fire, Schedule: "s", Skipped: "previous run j is unfinished"}
	if diff := cmp.Diff(ev, fromProtoEvent(toProtoEvent(&ev))); diff != "" {
		t.Errorf("skipped event (-want +got):\n%s", diff)
	}
}

func TestUnknownWireValuesAreRefusedInScheduleSpecs(t *testing.T) {
	job := &pb.JobSpec{Task: "a.b"}
	if _, err := fromProtoScheduleSpec(&pb.ScheduleSpec{Job: job, Overlap: 42}); !errors.Is(err, host.ErrInvalid) {
		t.Errorf("unknown overlap accepted: %v", err)
	}
	if _, err := fromProtoScheduleSpec(&pb.ScheduleSpec{Job: job, Missed: 42}); !errors.Is(err, host.ErrInvalid) {
		t.Errorf("unknown missed-run policy accepted: %v", err)
	}
	if _, err := fromProtoScheduleSpec(nil); !errors.Is(err, host.ErrInvalid) {
		t.Errorf("nil spec accepted: %v", err)
	}
	if _, err := fromProtoScheduleSpec(&pb.ScheduleSpec{}); !errors.Is(err, host.ErrInvalid) {
		t.Errorf("spec without a job accepted: %v", err)
	}
	for _, s := range []host.ScheduleSpec{{Overlap: "sometimes"}, {Missed: "all"}} {
		if _, err := toProtoScheduleSpec(s); !errors.Is(err, host.ErrInvalid) {
			t.Errorf("%+v sent: %v", s, err)
		}
	}
}

// checkFieldsSet fails when a fixture leaves a top-level field at its zero
// value, so that a field added to the type and not to the fixture (and so
// perhaps not to convert.go) is noticed.
func checkFieldsSet(t *testing.T, name string, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		if rv.Field(i).IsZero() {
			t.Errorf("%s fixture leaves %s unset", name, rv.Type().Field(i).Name)
		}
	}
}
