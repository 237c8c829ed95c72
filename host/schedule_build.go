package host

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/batchhost/batchhost/host/internal/cronspec"
	"github.com/batchhost/batchhost/host/internal/model"
)

// buildSchedule validates spec (everything that needs no engine state) and
// makes the record.
func (c *Config) buildSchedule(spec ScheduleSpec, id string, now time.Time) (*model.Schedule, error) {
	name := strings.TrimSpace(spec.Name)
	if err := model.CheckName("schedule name", name); err != nil {
		return nil, invalid(err)
	}
	if len(spec.Cron) > 1024 || len(spec.TimeZone) > 256 {
		return nil, invalidf("schedule spec or time zone is absurdly long")
	}
	cs, err := cronspec.Parse(spec.Cron, spec.TimeZone)
	if err != nil {
		return nil, invalidf("%v", err)
	}
	if cs.Next(now).IsZero() {
		return nil, invalidf("schedule spec %q never fires (a date that does not exist?)", spec.Cron)
	}
	t := spec.Job
	if t.Key != "" || len(t.DependsOn) > 0 || !t.RunAt.IsZero() || t.Delay != 0 {
		return nil, invalidf("a schedule's job template cannot set a key, dependencies, run-at or delay: the schedule sets them")
	}
	// The template must make a valid job, with room for the labels each
	// firing adds.
	probe, err := c.buildJob(t, id, now)
	if err != nil {
		return nil, err
	}
	if len(t.Labels) > maxLabels-2 {
		return nil, invalidf("%d labels: a schedule's template may have at most %d (each run adds 2)", len(t.Labels), maxLabels-2)
	}
	overlap := spec.Overlap
	if overlap == "" {
		overlap = model.OverlapSkip
	}
	if overlap != model.OverlapSkip && overlap != model.OverlapAllow && overlap != model.OverlapQueue {
		return nil, invalidf("unknown overlap policy %q (want skip, allow or queue)", spec.Overlap)
	}
	missed := spec.Missed
	if missed == "" {
		missed = model.MissedSkip
	}
	if missed != model.MissedSkip && missed != model.MissedNone {
		return nil, invalidf("unknown missed-run policy %q (want skip or none)", spec.Missed)
	}
	if spec.Jitter < 0 || spec.Jitter > 24*time.Hour {
		return nil, invalidf("jitter %s must be between 0 and 24h", spec.Jitter)
	}
	tmpl := model.JobTemplate{
		Task: probe.Task, Args: probe.Args, Priority: probe.Priority, MaxAttempts: t.MaxAttempts,
		Timeout: t.Timeout, StallTimeout: t.StallTimeout, Labels: probe.Labels, Group: t.Group,
	}
	if t.Backoff != nil {
		b := model.Backoff{Initial: t.Backoff.Initial, Max: t.Backoff.Max, Multiplier: t.Backoff.Multiplier, Jitter: t.Backoff.Jitter}
		tmpl.Backoff = &b
	}
	// Declared needs are kept as declared (the probe checked them against
	// the capacity, as a submit does); none declared stays nil, so that
	// each run gets the task's default of the day it fires.
	if t.Resources != nil {
		r := probe.Resources
		tmpl.Resources = &r
	}
	return &model.Schedule{
		ID: id, Name: name, Spec: strings.TrimSpace(spec.Cron), TimeZone: spec.TimeZone, Template: tmpl,
		Overlap: overlap, Missed: missed, Jitter: spec.Jitter, Paused: spec.Paused, CreatedAt: now,
		NextFire: cs.Next(now),
	}, nil
}

// buildRun makes the job of one firing of schedule s for the nominal time
// at: manual for a trigger, deps for a run queued behind an unfinished
// one. Its idempotency key is derived from the schedule and the fire
// time, so that one time can never make two jobs. Its needs are checked
// against the capacity of the host firing it, as a submit's are: a run
// needing more (the capacity lowered since the schedule was made) is not
// made, and the firing is recorded as skipped with the reason.
func (c *Config) buildRun(s *model.Schedule, at time.Time, manual bool, deps []model.Dep) (*model.Job, error) {
	t := s.Template
	spec := JobSpec{Task: t.Task, Args: json.RawMessage(t.Args), Priority: t.Priority, MaxAttempts: t.MaxAttempts,
		Timeout: t.Timeout, StallTimeout: t.StallTimeout, Group: t.Group}
	if t.Resources != nil {
		r := toResources(*t.Resources)
		spec.Resources = &r
	}
	if t.Backoff != nil {
		spec.Backoff = &Backoff{Initial: min(t.Backoff.Initial, maxDuration), Max: min(t.Backoff.Max, maxDuration),
			Multiplier: t.Backoff.Multiplier, Jitter: t.Backoff.Jitter}
	}
	// A template stored before the host reserved its label names, or
	// before backoff was capped (above), still fires: its own
	// batchhost.* labels give way to the host's.
	for k, v := range t.Labels {
		if !strings.HasPrefix(k, reservedLabelPrefix) {
			if spec.Labels == nil {
				spec.Labels = make(map[string]string, len(t.Labels))
			}
			spec.Labels[k] = v
		}
	}
	for _, d := range deps {
		spec.DependsOn = append(spec.DependsOn, Dep{Job: d.ID, Policy: d.Policy})
	}
	// A manual trigger means "now": jitter spreads scheduled load only.
	if s.Jitter > 0 && !manual {
		spec.RunAt = at.Add(time.Duration(rand.Int64N(int64(s.Jitter))))
	}
	spec.Key = fmt.Sprintf("schedule:%s:%d", s.ID, at.UnixNano())
	if manual {
		spec.Key = fmt.Sprintf("schedule:%s:trigger:%d", s.ID, at.UnixNano())
	}
	j, err := c.buildJob(spec, newID(), c.Clock.Now())
	if err != nil {
		return nil, err
	}
	j.Schedule = s.ID
	if j.Labels == nil {
		j.Labels = make(map[string]string, 2)
	}
	j.Labels[LabelSchedule] = s.ID
	j.Labels[LabelFireTime] = at.UTC().Format(time.RFC3339Nano)
	return j, nil
}
