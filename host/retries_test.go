package host_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/hosttest"
)

func TestTimeoutFailsAfterThreeTimeoutAttempts(t *testing.T) {
	h, _ := openHost(t, func(c *host.Config) { c.KillGrace = 200 * time.Millisecond })
	id := submit(t, h, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 30000}, Timeout: time.Second, MaxAttempts: 3})
	j := wait(t, h, id)
	if j.State != host.StateFailed || len(j.Attempts) != 3 {
		t.Fatalf("%s after %d attempts", j.State, len(j.Attempts))
	}
	for _, a := range j.Attempts {
		if a.Error == nil || a.Error.Kind != "timeout" {
			t.Errorf("attempt %d: %+v", a.Attempt, a.Error)
		}
	}
}

func TestRetryCountsAndBackoffSpacingWithInjectedClock(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := hosttest.NewClock(start)
	h, _ := openHost(t, func(c *host.Config) {
		c.Clock = clk
		c.DefaultBackoff = &host.Backoff{Initial: time.Second, Multiplier: 2, Max: time.Minute}
	})
	rec := record(t, h, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	id := submit(t, h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 3}, MaxAttempts: 4})
	for attempt, gap := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		// The failed attempt goes back to queued with a not-before time;
		// nothing runs until the clock reaches it.
		rec.until(t, func(e host.Event) bool {
			return e.Job == id && e.State == host.StateQueued && e.PrevState == host.StateRunning
		})
		j, _ := h.Get(ctxT(t), id)
		if j.Attempt != attempt+1 || j.RunAt == nil || !j.RunAt.Equal(clk.Now().Add(gap)) {
			t.Fatalf("after attempt %d: attempt %d run_at %v, want now+%s", attempt+1, j.Attempt, j.RunAt, gap)
		}
		clk.Advance(gap - time.Millisecond)
		clk.Advance(time.Millisecond)
	}
	j := wait(t, h, id)
	if j.State != host.StateCompleted || j.Attempt != 4 {
		t.Fatalf("state %s attempt %d", j.State, j.Attempt)
	}
	// Spacing between one attempt's end and the next one's start is the
	// backoff exactly: the clock only moved when the test moved it.
	for i, gap := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		got := j.Attempts[i+1].StartedAt.Sub(*j.Attempts[i].FinishedAt)
		if got != gap {
			t.Errorf("gap after attempt %d = %s, want %s", i+1, got, gap)
		}
		if j.Attempts[i].Error == nil || j.Attempts[i].Error.Kind != "task_error" {
			t.Errorf("attempt %d error %+v", i+1, j.Attempts[i].Error)
		}
	}
}

func TestPermanentAndInvalidArgsAreNotRetried(t *testing.T) {
	h, _ := openHost(t, nil)
	perm := submit(t, h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 5, "permanent": true}, MaxAttempts: 5})
	bad := submit(t, h, host.JobSpec{Task: "chaos.sleep", Args: map[string]any{"ms": "soon"}, MaxAttempts: 5})
	for id, kind := range map[string]host.ErrorKind{perm: "permanent", bad: "invalid_args"} {
		j := wait(t, h, id)
		if j.State != host.StateFailed || j.Attempt != 1 || j.Error == nil || j.Error.Kind != kind {
			t.Errorf("%s: state %s attempt %d error %+v, want failed after 1 attempt with %s", id, j.State, j.Attempt, j.Error, kind)
		}
		if err := h.Result(ctxT(t), id, nil); !errors.Is(err, host.ErrNotCompleted) {
			t.Errorf("Result of failed job: %v", err)
		}
	}
}

func TestRetriesExhaustedEndFailed(t *testing.T) {
	h, _ := openHost(t, nil)
	id := submit(t, h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 10}, MaxAttempts: 3})
	j := wait(t, h, id)
	if j.State != host.StateFailed || j.Attempt != 3 || len(j.Attempts) != 3 {
		t.Fatalf("state %s attempts %d/%d", j.State, j.Attempt, len(j.Attempts))
	}
	// Manual retry: a fresh budget of 3 more.
	if err := h.Retry(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	j = wait(t, h, id)
	if j.State != host.StateFailed || j.Attempt != 6 {
		t.Fatalf("after Retry: state %s attempt %d, want failed at 6", j.State, j.Attempt)
	}
}

func TestRetryAfterOverridesBackoff(t *testing.T) {
	clk := hosttest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	h, _ := openHost(t, func(c *host.Config) {
		c.Clock = clk
		c.DefaultBackoff = &host.Backoff{Initial: time.Hour, Multiplier: 2, Max: 2 * time.Hour}
	})
	rec := record(t, h, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	id := submit(t, h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 1, "retry_after_ms": 7000}})
	rec.until(t, func(e host.Event) bool {
		return e.Job == id && e.State == host.StateQueued && e.PrevState == host.StateRunning
	})
	j, _ := h.Get(ctxT(t), id)
	if j.RunAt == nil || !j.RunAt.Equal(clk.Now().Add(7*time.Second)) {
		t.Fatalf("run_at %v, want now+7s (the plugin's RetryAfter, not the 1h backoff)", j.RunAt)
	}
	clk.Advance(7 * time.Second)
	if j := wait(t, h, id); j.State != host.StateCompleted || j.Attempt != 2 {
		t.Fatalf("%s attempt %d", j.State, j.Attempt)
	}
}

// A result over what the plugin protocol carries (64 MiB) is refused by
// the plugin's SDK before it is sent; on a host that would take it, the
// job fails as result_too_large, as a result over the host's own cap does,
// not as a permanent error of the plugin's.
func TestResultOverTheProtocolLimitIsTooLarge(t *testing.T) {
	h, _ := openHost(t, func(c *host.Config) { c.MaxResultBytes = 200 << 20 })
	id := submit(t, h, host.JobSpec{Task: "chaos.big", Args: map[string]int{"mb": 70}, MaxAttempts: 2})
	j := wait(t, h, id)
	if j.State != host.StateFailed || j.Attempt != 1 || j.Error == nil || j.Error.Kind != "result_too_large" || !strings.Contains(j.Error.Message, "a plugin can send") {
		t.Fatalf("%s attempt %d %+v", j.State, j.Attempt, j.Error)
	}
	if len(j.Result) != 0 {
		t.Fatal("oversized result was stored")
	}
}

func TestResultOverTheCapFailsTheAttempt(t *testing.T) {
	h, _ := openHost(t, func(c *host.Config) { c.MaxResultBytes = 64 })
	id := submit(t, h, host.JobSpec{Task: "chaos.echo", Args: map[string]string{"big": strings.Repeat("x", 100)}})
	j := wait(t, h, id)
	if j.State != host.StateFailed || j.Attempt != 1 || j.Error == nil || j.Error.Kind != "result_too_large" || !strings.Contains(j.Error.Message, "64 byte limit") {
		t.Fatalf("%s attempt %d %+v", j.State, j.Attempt, j.Error)
	}
	if len(j.Result) != 0 {
		t.Fatal("oversized result was stored")
	}
}
