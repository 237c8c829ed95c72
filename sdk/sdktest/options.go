package sdktest

import (
	"context"
	"fmt"
	"time"
)

// Option changes how Run plays the host.
type Option func(*config)

type config struct {
	ctx         context.Context
	jobID       string
	attempt     int
	maxAttempts int
	timeout     time.Duration
	heartbeat   time.Duration
	grace       time.Duration
	err         error
}

// Defaults: attempt 1 of 3 (the host's default policy), no timeout, no
// heartbeats (the host asks for them only for jobs with a stall timeout),
// and the host's default 5 s kill grace.
func newConfig(opts []Option) config {
	c := config{ctx: context.Background(), jobID: "sdktest-job", attempt: 1, grace: 5 * time.Second}
	for _, o := range opts {
		o(&c)
	}
	if c.maxAttempts == 0 {
		c.maxAttempts = max(3, c.attempt)
	}
	if c.err == nil && c.attempt > c.maxAttempts {
		c.err = fmt.Errorf("attempt %d is beyond max attempts %d", c.attempt, c.maxAttempts)
	}
	return c
}

func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
}

// WithAttempt runs the task as attempt n (from 1), to test retry logic.
func WithAttempt(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("WithAttempt(%d): attempts count from 1", n)
		}
		c.attempt = n
	}
}

// WithMaxAttempts sets the job's attempt budget the task sees (default 3,
// or the attempt number if higher).
func WithMaxAttempts(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("WithMaxAttempts(%d): must be at least 1", n)
		}
		c.maxAttempts = n
	}
}

// WithTimeout cancels the call after d, as the host does at a job's
// timeout; the result is then an Error of kind "timeout". The task also
// sees the deadline in Job.Deadline.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("WithTimeout(%v): must be positive", d)
		}
		c.timeout = d
	}
}

// WithContext makes the call's context a child of ctx, so the test can
// cancel the attempt (as a user's cancel would); the result is then an
// Error of kind "canceled". A span in ctx is sent as the host sends its
// span of the attempt: the task's job.Context() carries it as the remote
// parent, so that a test can check the spans the task makes.
func WithContext(ctx context.Context) Option {
	return func(c *config) {
		if ctx == nil {
			c.fail("WithContext(nil)")
			return
		}
		c.ctx = ctx
	}
}

// WithHeartbeat asks the SDK for a heartbeat every d (the SDK's floor is
// 10 ms), as the host does for a job with a stall timeout; without it
// there are none.
func WithHeartbeat(d time.Duration) Option {
	return func(c *config) {
		if d < time.Millisecond {
			c.fail("WithHeartbeat(%v): must be at least 1ms", d)
		}
		c.heartbeat = d
	}
}

// WithGrace sets how long Run waits, after cancelling the call, for the
// task to return (default 5 s, the host's kill grace). A task still running
// then is reported as Abandoned.
func WithGrace(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("WithGrace(%v): must be positive", d)
		}
		c.grace = d
	}
}

// WithJobID sets the job id the task sees (default "sdktest-job").
func WithJobID(id string) Option {
	return func(c *config) { c.jobID = id }
}
