package host

import (
	"context"
	"encoding/json"
	"time"

	"github.com/batchhost/batchhost/host/internal/engine"
	"github.com/batchhost/batchhost/host/internal/model"
)

// Overlap says what a schedule does when it is due while its previous run
// is unfinished: OverlapSkip (the default), OverlapAllow, or OverlapQueue
// (at most one run waits behind the unfinished one).
type Overlap = model.Overlap

// The overlap policies.
const (
	OverlapSkip  = model.OverlapSkip
	OverlapAllow = model.OverlapAllow
	OverlapQueue = model.OverlapQueue
)

// Missed says what a schedule does about firings due while the host was
// down: MissedSkip (the default) fires once if any was missed, MissedNone
// fires none of them.
type Missed = model.Missed

// The missed-run policies.
const (
	MissedSkip = model.MissedSkip
	MissedNone = model.MissedNone
)

// ScheduleSpec describes a schedule: a job template fired at the times
// Cron names.
type ScheduleSpec struct {
	// Name is unique among schedules.
	Name string
	// Cron is a 5-field cron expression ("0 3 * * *"), 6 fields with
	// seconds first, or a descriptor: @every 15m, @hourly, @daily,
	// @weekly, @monthly, @yearly.
	Cron string
	// TimeZone is an IANA zone name for Cron; "" is the host's local zone.
	TimeZone string
	// Job is the template of every run. Key, DependsOn, RunAt and Delay
	// must be empty: the schedule sets them.
	Job JobSpec
	// Overlap defaults to OverlapSkip; Missed to MissedSkip.
	Overlap Overlap
	Missed  Missed
	// Jitter delays each run by a random amount up to this, to spread load.
	Jitter time.Duration
	// Paused creates the schedule paused.
	Paused bool
}

// Schedule is a snapshot of a schedule.
type Schedule struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Cron     string            `json:"cron"`
	TimeZone string            `json:"time_zone,omitempty"`
	Task     string            `json:"task"`
	Args     json.RawMessage   `json:"args,omitempty"`
	Priority Priority          `json:"priority"`
	Group    string            `json:"group,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	// MaxAttempts and Timeout are the template's; zero means the host's
	// default applies to each run.
	MaxAttempts int      `json:"max_attempts,omitempty"`
	Timeout     Duration `json:"timeout,omitempty"`
	// Resources is what the template declares each run needs; nil when
	// it declares none: each run then needs its task's default
	// (Config.TaskResources), if any.
	Resources *Resources `json:"resources,omitempty"`
	Overlap   Overlap    `json:"overlap"`
	Missed    Missed     `json:"missed"`
	Jitter    Duration   `json:"jitter,omitempty"`
	Paused    bool       `json:"paused"`
	CreatedAt time.Time  `json:"created_at"`
	// Next lists the next few fire times (none while paused).
	Next []time.Time `json:"next,omitempty"`
	// LastFire is the nominal time of the last firing, fired or skipped.
	LastFire *time.Time `json:"last_fire,omitempty"`
	// LastJob is the job of the last firing that made one, and LastState
	// where that job is now.
	LastJob   string `json:"last_job,omitempty"`
	LastState State  `json:"last_state,omitempty"`
}

// Schedule labels set on every job a schedule fires. Label names starting
// with "batchhost." are the host's: a JobSpec cannot set them.
const (
	LabelSchedule = reservedLabelPrefix + "schedule"
	LabelFireTime = reservedLabelPrefix + "fire_time"

	reservedLabelPrefix = "batchhost."
)

// CreateSchedule validates and stores a schedule; it fires from the next
// matching time on.
func (h *Host) CreateSchedule(ctx context.Context, spec ScheduleSpec) (string, error) {
	s, err := h.cfg.buildSchedule(spec, newID(), h.cfg.Clock.Now())
	if err != nil {
		return "", err
	}
	if err := h.check(ctx); err != nil {
		return "", err
	}
	if err := h.e.CreateSchedule(ctx, s); err != nil {
		return "", fromBackend(err)
	}
	return s.ID, nil
}

// GetSchedule returns a schedule by id or name.
func (h *Host) GetSchedule(ctx context.Context, idOrName string) (*Schedule, error) {
	if err := h.check(ctx); err != nil {
		return nil, err
	}
	v, err := h.e.Schedule(idOrName)
	if err != nil {
		return nil, fromBackend(err)
	}
	return h.scheduleSnapshot(ctx, v), nil
}

// ListSchedules returns every schedule, by name.
func (h *Host) ListSchedules(ctx context.Context) ([]*Schedule, error) {
	if err := h.check(ctx); err != nil {
		return nil, err
	}
	var out []*Schedule
	for _, v := range h.e.Schedules() {
		out = append(out, h.scheduleSnapshot(ctx, v))
	}
	return out, nil
}

// PauseSchedule stops a schedule from firing until ResumeSchedule.
func (h *Host) PauseSchedule(ctx context.Context, idOrName string) error {
	return h.scheduleOp(ctx, idOrName, h.e.PauseSchedule)
}

// ResumeSchedule lets a paused schedule fire again, from its next time
// after now: the paused stretch is not caught up.
func (h *Host) ResumeSchedule(ctx context.Context, idOrName string) error {
	return h.scheduleOp(ctx, idOrName, h.e.ResumeSchedule)
}

// DeleteSchedule removes a schedule; the jobs it fired stay.
func (h *Host) DeleteSchedule(ctx context.Context, idOrName string) error {
	return h.scheduleOp(ctx, idOrName, h.e.DeleteSchedule)
}

// TriggerSchedule fires a schedule now, whatever its times and overlap
// policy, and returns the job's id. A paused schedule can be triggered.
func (h *Host) TriggerSchedule(ctx context.Context, idOrName string) (string, error) {
	if err := h.check(ctx); err != nil {
		return "", err
	}
	id, err := h.e.TriggerSchedule(ctx, idOrName)
	if err != nil {
		return "", fromBackend(err)
	}
	return id, nil
}

func (h *Host) scheduleOp(ctx context.Context, idOrName string, op func(context.Context, string) error) error {
	if err := h.check(ctx); err != nil {
		return err
	}
	return fromBackend(op(ctx, idOrName))
}

// scheduleSnapshot converts a schedule, with where its last run is now.
func (h *Host) scheduleSnapshot(ctx context.Context, v engine.ScheduleView) *Schedule {
	s := v.S
	out := &Schedule{
		ID: s.ID, Name: s.Name, Cron: s.Spec, TimeZone: s.TimeZone, Task: s.Template.Task, Args: s.Template.Args,
		Priority: s.Template.Priority, Group: s.Template.Group, Labels: s.Template.Labels,
		MaxAttempts: s.Template.MaxAttempts, Timeout: Duration(s.Template.Timeout), Overlap: s.Overlap,
		Missed: s.Missed, Jitter: Duration(s.Jitter), Paused: s.Paused, CreatedAt: s.CreatedAt,
		LastFire: timePtr(s.LastFire), LastJob: s.LastJob, Next: v.Next,
	}
	if r := s.Template.Resources; r != nil {
		pr := toResources(*r)
		out.Resources = &pr
	}
	if s.LastJob != "" {
		if j, err := h.store.Job(ctx, s.LastJob); err == nil {
			out.LastState = j.State
		}
	}
	return out
}
