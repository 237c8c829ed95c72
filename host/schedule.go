package host

import (
	"context"
	"encoding/json"
	"time"

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
	MaxAttempts int       `json:"max_attempts,omitempty"`
	Timeout     Duration  `json:"timeout,omitempty"`
	Overlap     Overlap   `json:"overlap"`
	Missed      Missed    `json:"missed"`
	Jitter      Duration  `json:"jitter,omitempty"`
	Paused      bool      `json:"paused"`
	CreatedAt   time.Time `json:"created_at"`
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
	err = h.exec(ctx, func(e *engine) error { return e.createSchedule(s) })
	if err != nil {
		return "", err
	}
	return s.ID, nil
}

// GetSchedule returns a schedule by id or name.
func (h *Host) GetSchedule(ctx context.Context, idOrName string) (*Schedule, error) {
	var out *Schedule
	err := h.exec(ctx, func(e *engine) error {
		ss, err := e.schedule(idOrName)
		if err != nil {
			return err
		}
		out = e.scheduleSnapshot(ss)
		return errNoWrite
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListSchedules returns every schedule, by name.
func (h *Host) ListSchedules(ctx context.Context) ([]*Schedule, error) {
	var out []*Schedule
	err := h.exec(ctx, func(e *engine) error {
		for _, ss := range e.sortedSchedules() {
			out = append(out, e.scheduleSnapshot(ss))
		}
		return errNoWrite
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PauseSchedule stops a schedule from firing until ResumeSchedule.
func (h *Host) PauseSchedule(ctx context.Context, idOrName string) error {
	return h.scheduleOp(ctx, idOrName, (*engine).pauseSchedule)
}

// ResumeSchedule lets a paused schedule fire again, from its next time
// after now: the paused stretch is not caught up.
func (h *Host) ResumeSchedule(ctx context.Context, idOrName string) error {
	return h.scheduleOp(ctx, idOrName, (*engine).resumeSchedule)
}

// DeleteSchedule removes a schedule; the jobs it fired stay.
func (h *Host) DeleteSchedule(ctx context.Context, idOrName string) error {
	return h.scheduleOp(ctx, idOrName, (*engine).deleteSchedule)
}

// TriggerSchedule fires a schedule now, whatever its times and overlap
// policy, and returns the job's id. A paused schedule can be triggered.
func (h *Host) TriggerSchedule(ctx context.Context, idOrName string) (string, error) {
	var id string
	err := h.scheduleOp(ctx, idOrName, func(e *engine, ss *scheduleState) error {
		var err error
		id, err = e.trigger(ss)
		return err
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

func (h *Host) scheduleOp(ctx context.Context, idOrName string, op func(*engine, *scheduleState) error) error {
	return h.exec(ctx, func(e *engine) error {
		ss, err := e.schedule(idOrName)
		if err != nil {
			return err
		}
		return op(e, ss)
	})
}
