package retry

import (
	"time"

	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

// Verdict is what becomes of a job whose attempt has ended.
type Verdict int

// The verdicts.
const (
	// Complete: the attempt succeeded.
	Complete Verdict = iota
	// Retry: the job is queued again, not before Decision.At.
	Retry
	// Fail: the attempt failed and no attempt follows.
	Fail
	// Cancel: a cancel was requested while the attempt ran; whatever the
	// attempt's outcome, the job ends canceled.
	Cancel
)

func (v Verdict) String() string {
	switch v {
	case Complete:
		return "complete"
	case Retry:
		return "retry"
	case Fail:
		return "fail"
	case Cancel:
		return "cancel"
	}
	return "unknown"
}

// Ended describes an attempt that has ended, with what the job's record
// says about its budget. An attempt interrupted by a host that stopped
// (found at recovery) is one whose Err has kind interrupted.
type Ended struct {
	// Err is why the attempt failed; nil means it succeeded.
	Err *model.JobError
	// RetryAfter is the task's own wish for the next attempt's delay
	// (sdk.RetryAfter); it replaces the backoff when positive.
	RetryAfter time.Duration
	// CancelRequested: a cancel reached the job while the attempt ran.
	CancelRequested bool
	// Used is the number of attempts started in the current budget, this
	// one included (Attempt - AttemptBase).
	Used int
	// Max is the attempt budget (MaxAttempts).
	Max int
	// Backoff is the job's delay policy between attempts.
	Backoff model.Backoff
}

// Decision is the outcome of Decide.
type Decision struct {
	Verdict Verdict
	// At is the not-before time of the next attempt of a Retry; zero
	// means at once.
	At time.Time
}

// Decide says what becomes of a job whose attempt has ended at now. rnd
// gives the backoff's jitter (see Delay); nil means none. A requested
// cancel wins over a failure but not over a success; a failure is retried
// while the budget lasts unless its kind is never retried, and a crash, a
// timeout, a stall or an interruption are retried whatever the task said.
// An interrupted attempt is retried at once: nothing suggests that waiting
// would help, and the outage already was a wait.
func Decide(a Ended, now time.Time, rnd func() float64) Decision {
	switch {
	case a.Err == nil:
		return Decision{Verdict: Complete}
	case a.CancelRequested:
		return Decision{Verdict: Cancel}
	case !retryable(a):
		return Decision{Verdict: Fail}
	case a.Err.Kind == errkind.Interrupted:
		return Decision{Verdict: Retry}
	}
	delay := a.RetryAfter
	if delay <= 0 {
		delay = Delay(a.Backoff, a.Used, rnd)
	}
	d := Decision{Verdict: Retry}
	if delay > 0 {
		d.At = now.Add(delay)
	}
	return d
}

// retryable reports whether a failed attempt gets another one.
func retryable(a Ended) bool {
	if a.Max-a.Used <= 0 || errkind.NeverRetried(a.Err.Kind) {
		return false
	}
	switch a.Err.Kind {
	case errkind.PluginCrashed, errkind.Timeout, errkind.Stalled, errkind.Interrupted:
		return true
	}
	return a.Err.Retryable
}
