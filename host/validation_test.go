package host_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// Task, group, schedule and label names follow one rule (model.CheckName):
// not empty, at most 256 bytes, valid UTF-8, no control characters. No
// text a job holds may hold NUL (PostgreSQL cannot store it; bbolt
// refuses it too, so that a job is the same on both backends). Each refusal is ErrInvalid
// with a one-line message naming what is wrong, and nothing is created.
func TestNamesAreCheckedByOneRule(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	long := strings.Repeat("n", 257)
	cron := func(name string) host.ScheduleSpec {
		return host.ScheduleSpec{Name: name, Cron: "@daily", Job: host.JobSpec{Task: "chaos.noop"}}
	}
	tests := []struct {
		name string
		do   func() error
		want string
	}{
		{"task not UTF-8", func() error { _, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop\xff"}); return err }, "task is not valid UTF-8"},
		{"task too long", func() error { _, err := h.Submit(ctx, host.JobSpec{Task: "chaos." + long}); return err }, "is longer than 256 bytes"},
		{"group name empty", func() error { _, err := h.CreateGroup(ctx, host.GroupSpec{Name: "  "}); return err }, "group name is required"},
		{"group name too long", func() error { _, err := h.CreateGroup(ctx, host.GroupSpec{Name: long}); return err }, "group name \"nnnn"},
		{"group name not UTF-8", func() error { _, err := h.CreateGroup(ctx, host.GroupSpec{Name: "g\xff"}); return err }, "group name is not valid UTF-8"},
		{"schedule name too long", func() error { _, err := h.CreateSchedule(ctx, cron(long)); return err }, "schedule name \"nnnn"},
		{"schedule name not UTF-8", func() error { _, err := h.CreateSchedule(ctx, cron("s\xff")); return err }, "schedule name is not valid UTF-8"},
		{"label name empty", func() error {
			_, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", Labels: map[string]string{"": "v"}})
			return err
		}, "label name is required"},
		{"label name not UTF-8", func() error {
			_, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", Labels: map[string]string{"k\xff": "v"}})
			return err
		}, "label name is not valid UTF-8"},
		{"label name too long", func() error {
			_, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", Labels: map[string]string{long: "v"}})
			return err
		}, "label name \"nnnn"},
		{"label value not UTF-8", func() error {
			_, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", Labels: map[string]string{"k": "v\xff"}})
			return err
		}, `label "k": value is not valid UTF-8`},
		{"label value too long", func() error {
			_, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", Labels: map[string]string{"k": strings.Repeat("v", 4097)}})
			return err
		}, `label "k": value is longer than 4096 bytes`},
		{"task with a control character", func() error { _, err := h.Submit(ctx, host.JobSpec{Task: "chaos.no\rop"}); return err }, `task "chaos.no\rop" holds a control character`},
		{"group name with NUL", func() error { _, err := h.CreateGroup(ctx, host.GroupSpec{Name: "g\x00"}); return err }, "group name \"g\\x00\" holds a control character"},
		{"schedule name with a newline", func() error { _, err := h.CreateSchedule(ctx, cron("s\nt")); return err }, "schedule name \"s\\nt\" holds a control character"},
		{"label name with a tab", func() error {
			_, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", Labels: map[string]string{"k\t": "v"}})
			return err
		}, "label name \"k\\t\" holds a control character"},
		{"label value with NUL", func() error {
			_, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", Labels: map[string]string{"k": "v\x00"}})
			return err
		}, `label "k": value holds a NUL character`},
		{"key with NUL", func() error { _, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", Key: "k\x00"}); return err }, "idempotency key holds a NUL character"},
		{"args with NUL", func() error {
			_, err := h.Submit(ctx, host.JobSpec{Task: "chaos.echo", Args: json.RawMessage(`{"s":"a\u0000b"}`)})
			return err
		}, `args are not storable: a string holds \u0000 (NUL)`},
		{"dependency policy", func() error {
			_, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", DependsOn: []host.Dep{{Job: "x", Policy: "IGNORE"}}})
			return err
		}, `dependency x: unknown policy "IGNORE" (want cancel or ignore)`},
	}
	for _, tc := range tests {
		err := tc.do()
		if !errors.Is(err, host.ErrInvalid) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want a one-line ErrInvalid containing %q", tc.name, err, tc.want)
		}
	}
	jobs, _, err := h.List(ctx, host.ListFilter{})
	if err != nil || len(jobs) != 0 {
		t.Errorf("refused calls left %d jobs (%v)", len(jobs), err)
	}
	if groups, _, err := h.ListGroups(ctx, "", 0); err != nil || len(groups) != 0 {
		t.Errorf("refused calls left %d groups (%v)", len(groups), err)
	}
	if scheds, err := h.ListSchedules(ctx); err != nil || len(scheds) != 0 {
		t.Errorf("refused calls left %d schedules (%v)", len(scheds), err)
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

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		cfg  host.Config
		want string
	}{
		{host.Config{}, "DataDir"},
		{host.Config{DataDir: t.TempDir(), MaxWorkers: -1}, "MaxWorkers"},
		{host.Config{DataDir: t.TempDir(), PollInterval: -time.Second}, "PollInterval"},
		{host.Config{DataDir: t.TempDir(), Limits: map[string]int{"docs.ocr": 0}}, "Limits"},
		{host.Config{DataDir: t.TempDir(), Rates: map[string]host.Rate{"docs.ocr": {N: 1}}}, "Rates"},
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

func TestMoreBadInput(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	id, _ := h.Create(ctx, host.JobSpec{Task: "chaos.noop"})
	if err := h.SubmitCreated(ctx, id, id); !errors.Is(err, host.ErrInvalid) || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("duplicate ids: %v", err)
	}
	if j, _ := h.Get(ctx, id); j.State != host.StateCreated {
		t.Fatalf("refused submit changed the job: %s", j.State)
	}
	labels := map[string]string{}
	for i := range 65 {
		labels[fmt.Sprint("l", i)] = "v"
	}
	if _, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", Labels: labels}); !errors.Is(err, host.ErrInvalid) {
		t.Fatalf("65 labels: %v", err)
	}
	if _, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", Labels: map[string]string{"k": strings.Repeat("x", 5000)}}); !errors.Is(err, host.ErrInvalid) {
		t.Fatalf("huge label: %v", err)
	}
	if _, err := h.CreateSchedule(ctx, host.ScheduleSpec{Name: "feb30", Cron: "0 0 30 2 *", Job: host.JobSpec{Task: "chaos.noop"}}); !errors.Is(err, host.ErrInvalid) || !strings.Contains(err.Error(), "never fires") {
		t.Fatalf("never-firing spec: %v", err)
	}
}

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
	// (A database keeps times to the microsecond.)
	j, err := h.Get(ctx, id)
	if err != nil || j.RunAt.Sub(odd).Abs() >= time.Microsecond {
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
