package host

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/batchhost/batchhost/host/internal/cronspec"
	"github.com/batchhost/batchhost/host/internal/model"
)

// scheduleState is a schedule in the engine, with its parsed spec.
type scheduleState struct {
	s    *model.Schedule
	spec *cronspec.Spec
}

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
	return &model.Schedule{
		ID: id, Name: name, Spec: strings.TrimSpace(spec.Cron), TimeZone: spec.TimeZone, Template: tmpl,
		Overlap: overlap, Missed: missed, Jitter: spec.Jitter, Paused: spec.Paused, CreatedAt: now,
		NextFire: cs.Next(now),
	}, nil
}

// adoptSchedule puts a stored schedule in memory; a spec that no longer
// parses (a time zone gone from the system's database) is reported and
// left out.
func (e *engine) adoptSchedule(s *model.Schedule) error {
	cs, err := cronspec.Parse(s.Spec, s.TimeZone)
	if err != nil {
		return fmt.Errorf("schedule %q: %w", s.Name, err)
	}
	e.schedules[s.ID] = &scheduleState{s: s, spec: cs}
	return nil
}

func (e *engine) createSchedule(s *model.Schedule) error {
	if !e.plugins.HasTask(s.Template.Task) {
		return fmt.Errorf("task %q: %w", s.Template.Task, ErrUnknownTask)
	}
	if s.Template.Group != "" {
		if _, err := e.group(s.Template.Group); err != nil {
			return err
		}
	}
	for _, ss := range e.schedules {
		if ss.s.Name == s.Name {
			return invalidf("a schedule named %q already exists (%s)", s.Name, ss.s.ID)
		}
	}
	// Lookups try ids before names: a name equal to another schedule's id
	// could never be reached by its name.
	if _, ok := e.schedules[s.Name]; ok {
		return invalidf("schedule name %q is another schedule's id", s.Name)
	}
	if err := e.adoptSchedule(s); err != nil {
		return invalidf("%v", err)
	}
	e.putSchedule(e.schedules[s.ID])
	return nil
}

// schedule finds a schedule by id, or else by name.
func (e *engine) schedule(idOrName string) (*scheduleState, error) {
	if ss := e.schedules[idOrName]; ss != nil {
		return ss, nil
	}
	for _, ss := range e.schedules {
		if ss.s.Name == idOrName {
			return ss, nil
		}
	}
	return nil, notFound("schedule", idOrName)
}

func (e *engine) sortedSchedules() []*scheduleState {
	out := make([]*scheduleState, 0, len(e.schedules))
	for _, ss := range e.schedules {
		out = append(out, ss)
	}
	slices.SortFunc(out, func(a, b *scheduleState) int { return strings.Compare(a.s.Name, b.s.Name) })
	return out
}

// putSchedule writes a changed schedule and recomputes the earliest fire
// time the timer waits for.
func (e *engine) putSchedule(ss *scheduleState) {
	e.batch.PutSchedule(ss.s)
	e.batchUsed = true
	e.rearmSchedules()
}

func (e *engine) rearmSchedules() {
	e.nextFire = time.Time{}
	for _, ss := range e.schedules {
		if ss.s.Paused || ss.s.NextFire.IsZero() {
			continue
		}
		if e.nextFire.IsZero() || ss.s.NextFire.Before(e.nextFire) {
			e.nextFire = ss.s.NextFire
		}
	}
}

func (e *engine) pauseSchedule(ss *scheduleState) error {
	if ss.s.Paused {
		return stateErr("schedule %q is already paused", ss.s.Name)
	}
	ss.s.Paused = true
	e.putSchedule(ss)
	return nil
}

func (e *engine) resumeSchedule(ss *scheduleState) error {
	if !ss.s.Paused {
		return stateErr("schedule %q is not paused", ss.s.Name)
	}
	ss.s.Paused = false
	ss.s.NextFire = ss.spec.Next(e.clock.Now())
	e.putSchedule(ss)
	return nil
}

func (e *engine) deleteSchedule(ss *scheduleState) error {
	delete(e.schedules, ss.s.ID)
	e.batch.DeleteSchedule(ss.s.ID)
	e.batchUsed = true
	e.rearmSchedules()
	return nil
}

func (e *engine) trigger(ss *scheduleState) (string, error) {
	now := e.clock.Now()
	id, skipped, err := e.fire(ss, now, true)
	if err != nil {
		return "", err
	}
	if skipped != "" {
		return "", stateErr("schedule %q did not fire: %s", ss.s.Name, skipped)
	}
	e.putSchedule(ss)
	return id, nil
}

// fireDue fires every schedule whose time has come. Several fire times
// that passed at once mean the host was down (or stalled): the missed-run
// policy decides whether the latest of them fires.
func (e *engine) fireDue() {
	if !e.started || e.stopping || e.failed != nil || e.nextFire.IsZero() {
		return
	}
	now := e.clock.Now()
	if now.Before(e.nextFire) {
		return
	}
	for _, ss := range e.sortedSchedules() {
		s := ss.s
		if s.Paused || s.NextFire.IsZero() || s.NextFire.After(now) {
			continue
		}
		latest, missed := e.latestDue(ss, now)
		if latest.Before(e.startedAt) {
			missed++ // its time passed while the host was down
		}
		if missed == 0 || s.Missed == model.MissedSkip {
			if _, skipped, err := e.fire(ss, latest, false); err != nil {
				e.scheduleEvent(ss, latest, "", err.Error())
			} else if skipped != "" {
				e.scheduleEvent(ss, latest, "", skipped)
			}
		} else {
			e.scheduleEvent(ss, latest, "", fmt.Sprintf("%d missed firings not run (missed-run policy none)", missed))
		}
		s.LastFire = latest
		s.NextFire = ss.spec.Next(latest)
		e.putSchedule(ss)
	}
}

// latestDue returns the last fire time at or before now, and how many
// earlier ones it passed over.
func (e *engine) latestDue(ss *scheduleState, now time.Time) (time.Time, int) {
	latest := ss.s.NextFire
	// Far behind (a long downtime with a frequent spec): jump to two days
	// ago rather than step through every firing since.
	if now.Sub(latest) > 48*time.Hour {
		if t := ss.spec.Next(now.Add(-48 * time.Hour)); !t.IsZero() && !t.After(now) {
			latest = t
		}
	}
	passed := 0
	if !latest.Equal(ss.s.NextFire) {
		passed = 1
	}
	for {
		n := ss.spec.Next(latest)
		if n.IsZero() || n.After(now) {
			return latest, passed
		}
		latest = n
		passed++
	}
}

// fire submits one run of a schedule for the nominal time at. It returns
// the job id, or why the firing was skipped. The run's idempotency key is
// derived from the schedule and the fire time, and the schedule's new
// state is written in the same commit as the job, so a crash can never
// fire one time twice.
func (e *engine) fire(ss *scheduleState, at time.Time, manual bool) (string, string, error) {
	s := ss.s
	var deps []model.Dep
	if !manual && s.Overlap != model.OverlapAllow {
		if last := e.jobs[s.LastJob]; last != nil && !last.job.State.Terminal() {
			if s.Overlap == model.OverlapSkip {
				return "", "previous run " + s.LastJob + " is unfinished", nil
			}
			if w := e.jobs[s.Waiting]; w != nil && waitsToRun(w.job) {
				return "", "a run already waits behind the unfinished one", nil
			}
			deps = []model.Dep{{ID: s.LastJob, Policy: model.DepIgnore}}
		}
	}
	now := e.clock.Now()
	t := s.Template
	spec := JobSpec{Task: t.Task, Args: json.RawMessage(t.Args), Priority: t.Priority, MaxAttempts: t.MaxAttempts,
		Timeout: t.Timeout, StallTimeout: t.StallTimeout, Group: t.Group}
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
	j, err := e.cfg.buildJob(spec, newID(), now)
	if err != nil {
		return "", "", err
	}
	j.Schedule = s.ID
	if j.Labels == nil {
		j.Labels = make(map[string]string, 2)
	}
	j.Labels[LabelSchedule] = s.ID
	j.Labels[LabelFireTime] = at.UTC().Format(time.RFC3339Nano)
	ids, fresh, err := e.prepareJobs([]*model.Job{j})
	if err != nil {
		return "", "", err
	}
	if err := e.checkQueueRoom(fresh); err != nil {
		return "", "", err
	}
	e.recordJobs(fresh)
	for _, js := range fresh {
		if err := e.enqueue(js, model.EvSubmit); err != nil {
			return "", "", err
		}
	}
	s.LastJob = ids[0]
	if deps != nil {
		s.Waiting = ids[0]
	}
	e.scheduleEvent(ss, at, ids[0], "")
	return ids[0], "", nil
}

// waitsToRun reports whether a job has not started yet.
func waitsToRun(j *model.Job) bool {
	switch j.State {
	case model.Created, model.Waiting, model.Queued:
		return true
	case model.Paused:
		return j.PausedFrom != model.Running
	}
	return false
}

func (e *engine) scheduleEvent(ss *scheduleState, at time.Time, job, skipped string) {
	e.events = append(e.events, Event{Type: EventSchedule, Time: at, Schedule: ss.s.ID, Job: job, Skipped: skipped})
}

func (e *engine) scheduleSnapshot(ss *scheduleState) *Schedule {
	s := ss.s
	out := &Schedule{
		ID: s.ID, Name: s.Name, Cron: s.Spec, TimeZone: s.TimeZone, Task: s.Template.Task, Args: s.Template.Args,
		Priority: s.Template.Priority, Group: s.Template.Group, Labels: s.Template.Labels,
		MaxAttempts: s.Template.MaxAttempts, Timeout: Duration(s.Template.Timeout), Overlap: s.Overlap,
		Missed: s.Missed, Jitter: Duration(s.Jitter), Paused: s.Paused, CreatedAt: s.CreatedAt,
		LastFire: timePtr(s.LastFire), LastJob: s.LastJob,
	}
	if !s.Paused {
		for t, i := s.NextFire, 0; !t.IsZero() && i < 5; t, i = ss.spec.Next(t), i+1 {
			out.Next = append(out.Next, t)
		}
	}
	if s.LastJob != "" {
		if j, err := e.lookup(s.LastJob); err == nil {
			out.LastState = j.State
		}
	}
	return out
}
