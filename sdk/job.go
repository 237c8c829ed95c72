package sdk

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/batchhost/batchhost/proto/pluginpb"
)

// Job is the attempt a task is running: who it is and a way to talk to the
// host while it runs. Its methods are safe for concurrent use. A nil *Job is
// valid and discards progress and logs, so a task function can be called
// directly in a plain unit test.
type Job struct {
	ctx         context.Context
	id          string
	attempt     int
	maxAttempts int
	deadline    time.Time
	events      *sender
	log         *slog.Logger
}

func newJob(ctx context.Context, req *pluginpb.ExecuteRequest, events *sender) *Job {
	j := &Job{
		ctx:         ctx,
		id:          req.GetJobId(),
		attempt:     int(req.GetAttempt()),
		maxAttempts: int(req.GetMaxAttempts()),
		events:      events,
	}
	if ns := req.GetDeadlineUnixNano(); ns > 0 {
		j.deadline = time.Unix(0, ns)
	}
	j.log = slog.New(newLogHandler(events))
	return j
}

// Context returns the attempt's context, the ctx the task is called with:
// it is cancelled when the host cancels the attempt (a user's cancel, a
// timeout, a shutdown), and it carries the host's span of the attempt when
// the host traces the job, so that a span started from it joins the job's
// trace:
//
//	ctx, span := otel.Tracer("example.com/wordfreq").Start(job.Context(), "count")
//	defer span.End()
//
// The spans go to the plugin process's own TracerProvider (otel's global
// one unless the task is given another): the plugin sets up its exporter
// itself; with none set up, spans cost nothing and go nowhere. A nil *Job
// answers context.Background().
func (j *Job) Context() context.Context {
	if j == nil || j.ctx == nil {
		return context.Background()
	}
	return j.ctx
}

// ID returns the job's id.
func (j *Job) ID() string {
	if j == nil {
		return ""
	}
	return j.id
}

// Attempt returns the attempt number, starting at 1.
func (j *Job) Attempt() int {
	if j == nil {
		return 0
	}
	return j.attempt
}

// MaxAttempts returns how many attempts the job has in total, so a task can
// tell whether this is its last chance. 0 if the host did not say.
func (j *Job) MaxAttempts() int {
	if j == nil {
		return 0
	}
	return j.maxAttempts
}

// Deadline returns when the host will time this attempt out, if it has a
// timeout. It is informational: the host enforces timeouts itself and
// cancels the task's ctx, and its clock stops while the job is paused, so
// the real end can be later than this.
func (j *Job) Deadline() (time.Time, bool) {
	if j == nil || j.deadline.IsZero() {
		return time.Time{}, false
	}
	return j.deadline, true
}

// maxProgressMessage bounds a progress message; longer ones are cut.
const maxProgressMessage = 4 << 10

// Progress reports how far the task is, as a fraction in [0, 1] (values
// outside are clamped; NaN is ignored) and a short message for humans. The
// host keeps the latest value with the job and forwards every report to
// subscribers, in the order the task made them.
//
// Progress blocks while the host is slow to read (the socket's buffer is
// full); it is meant for a few reports a second, not one per item of a
// tight loop.
func (j *Job) Progress(fraction float64, message string) {
	if j == nil || j.events == nil || math.IsNaN(fraction) {
		return
	}
	fraction = min(max(fraction, 0), 1)
	j.events.send(&pluginpb.ExecuteEvent{Event: &pluginpb.ExecuteEvent_Progress{Progress: &pluginpb.Progress{
		Fraction: fraction,
		Message:  truncate(message, maxProgressMessage),
	}}})
}

// Log returns a structured logger whose records travel to the host as the
// job's log (level, message, attributes, time), kept with the job and shown
// by "batchhost logs". Records of every level are sent, Debug included;
// levels below Debug arrive as trace. Prefer it to writing to stderr, which
// the host keeps only as a crash diagnostic.
func (j *Job) Log() *slog.Logger {
	if j == nil || j.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return j.log
}
