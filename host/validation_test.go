package host_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host"
)

// Task, group, schedule and label names follow one rule (model.CheckName):
// not empty, at most 256 bytes, valid UTF-8. Each refusal is ErrInvalid
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
