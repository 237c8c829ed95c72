package control

import (
	"encoding/json"
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
		Attempts:   []host.Attempt{{Attempt: 1, StartedAt: now, FinishedAt: &later, Error: failure}, {Attempt: 2, StartedAt: later}},
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

	stats := host.Stats{Counts: counts, QueueDepth: map[string]int{"low": 1, "normal": 2, "high": 3, "critical": 4}, BusyWorkers: 3, MaxWorkers: 8, DispatchPaused: true}
	if diff := cmp.Diff(stats, fromProtoStats(toProtoStats(stats))); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}

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
		RunAt: later, Delay: time.Hour, Key: "k", Labels: map[string]string{"l": "v"}, DependsOn: host.After("x"), Group: "g"}
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
}
