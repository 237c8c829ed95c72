package host

import (
	"encoding/json"
	"time"

	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

// State is a job's lifecycle state; see the package documentation for the
// diagram.
type State = model.State

// The eight job states.
const (
	StateCreated   = model.Created
	StateQueued    = model.Queued
	StateWaiting   = model.Waiting
	StateRunning   = model.Running
	StatePaused    = model.Paused
	StateCompleted = model.Completed
	StateFailed    = model.Failed
	StateCanceled  = model.Canceled
)

// ParseState parses a state name.
func ParseState(s string) (State, error) { return model.ParseState(s) }

// Priority orders dispatch: critical > high > normal > low, FIFO inside one.
type Priority = model.Priority

// The four priorities. Normal is the zero value.
const (
	PriorityLow      = model.Low
	PriorityNormal   = model.Normal
	PriorityHigh     = model.High
	PriorityCritical = model.Critical
)

// ParsePriority parses low, normal, high or critical ("" is normal).
func ParsePriority(s string) (Priority, error) { return model.ParsePriority(s) }

// ErrorKind says why an attempt failed: task_error, permanent,
// invalid_args, unknown_task, plugin_crashed, timeout, stalled, canceled,
// dependency_failed, interrupted, result_too_large, unsupported_format.
type ErrorKind = errkind.Kind

// Job is a snapshot of a job. Its JSON form is the stable machine output of
// the CLI.
type Job struct {
	ID          string            `json:"id"`
	Task        string            `json:"task"`
	State       State             `json:"state"`
	Priority    Priority          `json:"priority"`
	Args        json.RawMessage   `json:"args,omitempty"`
	Result      json.RawMessage   `json:"result,omitempty"`
	Error       *JobError         `json:"error,omitempty"`
	Attempt     int               `json:"attempt"`
	MaxAttempts int               `json:"max_attempts"`
	Group       string            `json:"group,omitempty"`
	DependsOn   []Dep             `json:"depends_on,omitempty"`
	Key         string            `json:"key,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Schedule    string            `json:"schedule,omitempty"`
	Progress    Progress          `json:"progress"`
	Timeout     Duration          `json:"timeout,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	QueuedAt    *time.Time        `json:"queued_at,omitempty"`
	StartedAt   *time.Time        `json:"started_at,omitempty"`
	FinishedAt  *time.Time        `json:"finished_at,omitempty"`
	RunAt       *time.Time        `json:"run_at,omitempty"`
	// PausedFrom is where a paused job was when it was paused.
	PausedFrom State     `json:"paused_from,omitempty"`
	Attempts   []Attempt `json:"attempts,omitempty"`
	// Resources is what the job needs while it runs (declared, or its
	// task's default); nil when nothing.
	Resources *Resources `json:"resources,omitempty"`
}

// Done reports whether the job is finished (completed, failed or canceled).
func (j *Job) Done() bool { return j.State.Terminal() }

// JobError is why a job or an attempt failed.
type JobError struct {
	Kind      ErrorKind `json:"kind"`
	Message   string    `json:"message"`
	Retryable bool      `json:"retryable"`
	// Exit is the plugin's exit status or signal, for crashes.
	Exit string `json:"exit,omitempty"`
	// Stderr is the tail of what the plugin wrote to stderr, for crashes.
	Stderr string `json:"stderr,omitempty"`
	// Dependency is the job whose failure canceled this one.
	Dependency string `json:"dependency,omitempty"`
}

func (e *JobError) Error() string {
	if e.Exit != "" {
		return string(e.Kind) + ": " + e.Message + " (" + e.Exit + ")"
	}
	return string(e.Kind) + ": " + e.Message
}

// Attempt is one attempt in a job's history.
type Attempt struct {
	Attempt int `json:"attempt"`
	// Host is the owner id of the host that ran it (HostStatus.Owner;
	// new at every start of a host).
	Host       string     `json:"host,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Error      *JobError  `json:"error,omitempty"`
}

// Progress is a task's own report of how far it has got.
type Progress struct {
	Fraction float64 `json:"fraction"`
	Message  string  `json:"message,omitempty"`
}

// Duration marshals as a Go duration string ("1m30s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toJobError(e *model.JobError) *JobError {
	if e == nil {
		return nil
	}
	return &JobError{Kind: e.Kind, Message: e.Message, Retryable: e.Retryable, Exit: e.Exit, Stderr: e.Stderr, Dependency: e.Dependency}
}

// toJob converts the internal record into the public snapshot. It copies
// everything mutable so the snapshot is the caller's to keep.
func toJob(j *model.Job) *Job {
	out := &Job{
		ID:          j.ID,
		Task:        j.Task,
		State:       j.State,
		Priority:    j.Priority,
		Args:        j.Args,
		Result:      j.Result,
		Error:       toJobError(j.Error),
		Attempt:     j.Attempt,
		MaxAttempts: j.MaxAttempts,
		Group:       j.Group,
		Key:         j.Key,
		Schedule:    j.Schedule,
		Progress:    Progress(j.Progress),
		Timeout:     Duration(j.Timeout),
		CreatedAt:   j.CreatedAt,
		QueuedAt:    timePtr(j.QueuedAt),
		StartedAt:   timePtr(j.StartedAt),
		FinishedAt:  timePtr(j.FinishedAt),
		RunAt:       timePtr(j.RunAt),
		PausedFrom:  j.PausedFrom,
	}
	if !j.Resources.IsZero() {
		r := toResources(j.Resources)
		out.Resources = &r
	}
	if len(j.Labels) > 0 {
		out.Labels = make(map[string]string, len(j.Labels))
		for k, v := range j.Labels {
			out.Labels[k] = v
		}
	}
	for _, d := range j.DependsOn {
		out.DependsOn = append(out.DependsOn, Dep{Job: d.ID, Policy: d.Policy})
	}
	for _, a := range j.Attempts {
		out.Attempts = append(out.Attempts, Attempt{Attempt: a.Attempt, Host: a.Owner, StartedAt: a.StartedAt, FinishedAt: timePtr(a.FinishedAt), Error: toJobError(a.Error)})
	}
	return out
}

// Group is a snapshot of a job group.
type Group struct {
	ID              string        `json:"id"`
	Name            string        `json:"name"`
	Sequential      bool          `json:"sequential"`
	CancelOnFailure bool          `json:"cancel_on_failure"`
	CreatedAt       time.Time     `json:"created_at"`
	Counts          map[State]int `json:"counts"`
	// Progress is the mean progress of the members; finished members count
	// as 1.
	Progress float64 `json:"progress"`
	// Done: every member is finished (an empty group is not done).
	Done bool `json:"done"`
	// Outcome of a done group: completed, failed, canceled or partial.
	Outcome    string     `json:"outcome,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// Jobs are the member ids in the order they were added.
	Jobs []string `json:"jobs"`
}

// TaskInfo describes a task a loaded plugin offers.
type TaskInfo struct {
	Name        string `json:"task"`
	Plugin      string `json:"plugin"`
	Version     string `json:"version"`
	Description string `json:"description"`
}

// Stats is a snapshot of the host's load.
type Stats struct {
	// Counts is the number of stored jobs in each state.
	Counts map[State]int `json:"counts"`
	// QueueDepth is the number of queued jobs (ready or delayed) per
	// priority name.
	QueueDepth map[string]int `json:"queue_depth"`
	// BusyWorkers is the number of attempts running; MaxWorkers the bound.
	BusyWorkers int `json:"busy_workers"`
	MaxWorkers  int `json:"max_workers"`
	// DispatchPaused reports PauseDispatch.
	DispatchPaused bool `json:"dispatch_paused"`
	// Throttled lists, by name, the rated tasks and plugins (Config.Rates)
	// that have no token now, and when the next is due; empty when none
	// is. A name whose token was taken by its last claim is listed even
	// when none of its jobs is queued.
	Throttled []Throttle `json:"throttled"`
	// Capacity is what this host's running jobs may need in all
	// (Config.Capacity), and CapacityInUse what those running need of
	// it (this host's, on a shared queue).
	Capacity      *Resources `json:"capacity,omitempty"`
	CapacityInUse Resources  `json:"capacity_in_use"`
	// MemoryPressure: the memory pressure was at or above
	// Config.MemoryPressureLimit at the last claim, so jobs that need
	// memory were not started.
	MemoryPressure bool `json:"memory_pressure"`
	// DamagedJobs is the number of job records in the embedded store
	// that fail their checksum. Counts leaves them out, as List does:
	// their state cannot be read. Check lists them; Delete removes one.
	DamagedJobs int `json:"damaged_jobs"`
}
