package model

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/batchhost/batchhost/host/internal/errkind"
)

// Job is the record of one job: what to run, where it is in its life, and
// what happened to each attempt. The engine owns the live ones in memory;
// the store persists every version it is handed.
type Job struct {
	ID       string          `json:"id"`
	Task     string          `json:"task"`
	Args     json.RawMessage `json:"args,omitempty"`
	Priority Priority        `json:"priority"`
	State    State           `json:"state"`
	// PausedFrom is the state a paused job was in when it was paused. Resume
	// returns it there, or to where its dependencies now dictate.
	PausedFrom State `json:"paused_from,omitempty"`

	Group     string            `json:"group,omitempty"`
	DependsOn []Dep             `json:"depends_on,omitempty"`
	Key       string            `json:"key,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Schedule is the id of the schedule that fired this job, if any.
	Schedule string `json:"schedule,omitempty"`

	MaxAttempts  int           `json:"max_attempts"`
	Backoff      Backoff       `json:"backoff"`
	Timeout      time.Duration `json:"timeout,omitempty"`
	StallTimeout time.Duration `json:"stall_timeout,omitempty"`
	// Resources is what an attempt needs while it runs (declared, or the
	// task's default on the host that took the job): a host starts it
	// only while its running attempts' needs leave room for it.
	Resources Resources `json:"resources,omitzero"`
	// RunAt is the not-before time: a delay from the spec, or the backoff of
	// a retry. Zero means now.
	RunAt time.Time `json:"run_at,omitzero"`

	// Attempt is the number of attempts started so far; the one running is
	// Attempt. Manual retry resets the budget, not this count: AttemptBase is
	// the Attempt value at the last manual retry.
	Attempt     int `json:"attempt"`
	AttemptBase int `json:"attempt_base,omitempty"`
	// CancelRequested records a cancel of a running job until its attempt
	// has stopped, so that a crash in between cannot turn it into a retry.
	CancelRequested bool `json:"cancel_requested,omitempty"`
	// Owner is the host that claimed the running attempt (a backend shared
	// by several hosts guards every write about the attempt with it).
	Owner string `json:"owner,omitempty"`

	Result   json.RawMessage `json:"result,omitempty"`
	Error    *JobError       `json:"error,omitempty"`
	Progress Progress        `json:"progress"`

	CreatedAt  time.Time `json:"created_at"`
	QueuedAt   time.Time `json:"queued_at,omitzero"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`

	Attempts []AttemptRecord `json:"attempts,omitempty"`

	// Trace is the trace context of the span that created the job, empty
	// when there was none: its attempts' spans join that trace.
	Trace TraceContext `json:"trace,omitzero"`
}

// TraceContext is a W3C trace context as its two headers carry it.
type TraceContext struct {
	Parent string `json:"traceparent"`
	State  string `json:"tracestate,omitempty"`
}

// AttemptsLeft reports how many automatic attempts remain in the current
// budget.
func (j *Job) AttemptsLeft() int {
	return j.MaxAttempts - (j.Attempt - j.AttemptBase)
}

// Clone returns a deep copy, for handing a snapshot to another goroutine.
func (j *Job) Clone() *Job {
	c := *j
	c.DependsOn = append([]Dep(nil), j.DependsOn...)
	if j.Labels != nil {
		c.Labels = make(map[string]string, len(j.Labels))
		for k, v := range j.Labels {
			c.Labels[k] = v
		}
	}
	if j.Error != nil {
		e := *j.Error
		c.Error = &e
	}
	c.Attempts = make([]AttemptRecord, len(j.Attempts))
	for i, a := range j.Attempts {
		if a.Error != nil {
			e := *a.Error
			a.Error = &e
		}
		c.Attempts[i] = a
	}
	if len(j.Attempts) == 0 {
		c.Attempts = nil
	}
	// Args and Result are never modified in place, only replaced.
	return &c
}

// DepPolicy says what happens to a dependent when its dependency ends
// failed or canceled.
type DepPolicy string

// The dependency policies.
const (
	// DepCancel cancels the dependent (and its dependents) with kind
	// dependency_failed. The default.
	DepCancel DepPolicy = "cancel"
	// DepIgnore runs the dependent anyway once the dependency is finished.
	DepIgnore DepPolicy = "ignore"
)

// Resolve returns the policy p stands for ("" is the default, DepCancel),
// or an error for a policy this build does not know: a typo must not
// silently become the default. Every surface that accepts a policy checks
// it here.
func (p DepPolicy) Resolve() (DepPolicy, error) {
	switch p {
	case "":
		return DepCancel, nil
	case DepCancel, DepIgnore:
		return p, nil
	}
	return "", fmt.Errorf("unknown policy %q (want %s or %s)", p, DepCancel, DepIgnore)
}

// Dep is one dependency edge: the job waits for ID.
type Dep struct {
	ID     string    `json:"id"`
	Policy DepPolicy `json:"policy,omitempty"`
}

// Backoff is the retry delay policy: Initial, multiplied by Multiplier for
// every further attempt, capped at Max, spread by ±Jitter (a fraction).
type Backoff struct {
	Initial    time.Duration `json:"initial"`
	Max        time.Duration `json:"max"`
	Multiplier float64       `json:"multiplier"`
	Jitter     float64       `json:"jitter"`
}

// JobError is why an attempt or a job failed.
type JobError struct {
	Kind      errkind.Kind `json:"kind"`
	Message   string       `json:"message"`
	Retryable bool         `json:"retryable"`
	// Exit is the plugin's exit status or signal, for crashes.
	Exit string `json:"exit,omitempty"`
	// Stderr is the tail of the plugin's stderr, for crashes.
	Stderr string `json:"stderr,omitempty"`
	// Dependency is the job whose failure canceled this one.
	Dependency string `json:"dependency,omitempty"`
}

// AttemptRecord is one attempt in a job's history.
type AttemptRecord struct {
	Attempt   int       `json:"attempt"`
	StartedAt time.Time `json:"started_at"`
	// Owner is the host that ran the attempt (its owner id), so that a
	// job's history says where each attempt ran.
	Owner      string    `json:"owner,omitempty"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Error      *JobError `json:"error,omitempty"`
}

// Progress is a task's own report of how far it has got.
type Progress struct {
	Fraction float64 `json:"fraction"`
	Message  string  `json:"message,omitempty"`
}
