// Package engine is the host's state machine: it claims ready jobs from
// the store, runs their attempts through the runner, and records each
// outcome back in the store. It speaks only two ports: backend.Store (the
// queue's truth) and Runner (plugin processes). The host package is the
// facade that turns its model types into the public API.
package engine

import (
	"context"
	"time"

	"github.com/batchhost/batchhost/host/internal/joblog"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/runner"
)

// Runner starts attempts of tasks in plugin processes.
type Runner interface {
	// Tasks lists the tasks the loaded plugins serve.
	Tasks() []string
	// Start begins an attempt; onEvent receives its progress and logs.
	// An error means the attempt could not start (runner.ErrUnknownTask
	// when no plugin serves the task).
	Start(ctx context.Context, a runner.Attempt, onEvent func(runner.Event)) (Attempt, error)
}

// Attempt is one running attempt.
type Attempt interface {
	Done() <-chan struct{}
	Outcome() runner.Outcome
	Pause() error
	Resume() error
	Cancel(cause error)
}

// Clock is the engine's time source; tests substitute a fake one.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer of a Clock.
type Timer interface {
	C() <-chan time.Time
	Reset(d time.Duration)
	Stop()
}

// Observer is told what happened, after it is durable. It must not block:
// the host's implementation hands events to subscribers' buffers.
type Observer interface {
	// Jobs reports state changes: each job after the change, and its
	// state before.
	Jobs(jobs []*model.Job, prev []model.State)
	// Groups reports groups whose counts or outcome changed.
	Groups(groups []*model.Group)
	// Progress and Log report a running attempt's events.
	Progress(j *model.Job, attempt int, p model.Progress, at time.Time)
	Log(j *model.Job, rec joblog.Record)
	// Fired reports a schedule firing (job) or a skipped one (skipped).
	Fired(schedule string, at time.Time, job, skipped string)
}
