package retry

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	backoff := model.Backoff{Initial: time.Second, Multiplier: 2, Max: time.Minute, Jitter: 0.5}
	fail := func(k errkind.Kind, retryable bool) *model.JobError {
		return &model.JobError{Kind: k, Message: "boom", Retryable: retryable}
	}
	// ended is an attempt of a job with 3 attempts, the first of them
	// used, unless a case says otherwise.
	ended := func(err *model.JobError, mod ...func(*Ended)) Ended {
		a := Ended{Err: err, Used: 1, Max: 3, Backoff: backoff}
		for _, m := range mod {
			m(&a)
		}
		return a
	}
	used := func(n int) func(*Ended) { return func(a *Ended) { a.Used = n } }
	canceled := func(a *Ended) { a.CancelRequested = true }
	after := func(d time.Duration) func(*Ended) { return func(a *Ended) { a.RetryAfter = d } }
	retryAt := func(d time.Duration) Decision { return Decision{Verdict: Retry, At: now.Add(d)} }

	tests := []struct {
		name string
		a    Ended
		rnd  func() float64
		want Decision
	}{
		{"success", ended(nil), nil, Decision{Verdict: Complete}},
		{"success wins over a cancel request", ended(nil, canceled), nil, Decision{Verdict: Complete}},
		{"success on the last attempt", ended(nil, used(3)), nil, Decision{Verdict: Complete}},
		{"retryable task error backs off", ended(fail(errkind.TaskError, true)), nil, retryAt(time.Second)},
		{"backoff grows with attempts used", ended(fail(errkind.TaskError, true), used(2)), nil, retryAt(2 * time.Second)},
		{"backoff takes its jitter from rnd", ended(fail(errkind.TaskError, true)), func() float64 { return 0 }, retryAt(500 * time.Millisecond)},
		{"task error not marked retryable fails", ended(fail(errkind.TaskError, false)), nil, Decision{Verdict: Fail}},
		{"budget spent fails", ended(fail(errkind.TaskError, true), used(3)), nil, Decision{Verdict: Fail}},
		{"budget overspent fails", ended(fail(errkind.PluginCrashed, true), used(4)), nil, Decision{Verdict: Fail}},
		{"crash is retried whatever the task said", ended(fail(errkind.PluginCrashed, false)), nil, retryAt(time.Second)},
		{"timeout is retried", ended(fail(errkind.Timeout, false)), nil, retryAt(time.Second)},
		{"stall is retried", ended(fail(errkind.Stalled, false)), nil, retryAt(time.Second)},
		{"permanent is never retried", ended(fail(errkind.Permanent, true)), nil, Decision{Verdict: Fail}},
		{"invalid args are never retried", ended(fail(errkind.InvalidArgs, true)), nil, Decision{Verdict: Fail}},
		{"unknown task is never retried", ended(fail(errkind.UnknownTask, true)), nil, Decision{Verdict: Fail}},
		{"result too large is never retried", ended(fail(errkind.ResultTooLarge, true)), nil, Decision{Verdict: Fail}},
		{"retry after replaces the backoff", ended(fail(errkind.TaskError, true), after(time.Hour)), nil, retryAt(time.Hour)},
		{"retry after is not capped by the backoff's max", ended(fail(errkind.TaskError, true), after(2*time.Minute), used(2)), nil, retryAt(2 * time.Minute)},
		{"retry after does not extend the budget", ended(fail(errkind.TaskError, true), after(time.Hour), used(3)), nil, Decision{Verdict: Fail}},
		{"retry after does not retry a permanent error", ended(fail(errkind.Permanent, true), after(time.Hour)), nil, Decision{Verdict: Fail}},
		{"no backoff retries at once", Ended{Err: fail(errkind.TaskError, true), Used: 1, Max: 3}, nil, Decision{Verdict: Retry}},
		{"cancel request wins over a retry", ended(fail(errkind.PluginCrashed, true), canceled), nil, Decision{Verdict: Cancel}},
		{"cancel request wins over a failure", ended(fail(errkind.Permanent, false), canceled, used(3)), nil, Decision{Verdict: Cancel}},
		{"interrupted is retried at once", ended(fail(errkind.Interrupted, true)), nil, Decision{Verdict: Retry}},
		{"interrupted ignores retry after", ended(fail(errkind.Interrupted, true), after(time.Hour)), nil, Decision{Verdict: Retry}},
		{"interrupted on the last attempt fails", ended(fail(errkind.Interrupted, true), used(3)), nil, Decision{Verdict: Fail}},
		{"interrupted with a cancel request is canceled", ended(fail(errkind.Interrupted, true), canceled), nil, Decision{Verdict: Cancel}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(tc.a, now, tc.rnd)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}
