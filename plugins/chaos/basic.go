package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/batchhost/batchhost/sdk"
)

// maxMS bounds every duration argument (one day): larger values are
// almost certainly a unit mistake.
const maxMS = 24 * 60 * 60 * 1000

func checkMS(name string, ms int) error {
	if ms < 0 || ms > maxMS {
		return fmt.Errorf("%s must be between 0 and %d, got %d", name, maxMS, ms)
	}
	return nil
}

type empty struct{}

func noop(context.Context, *sdk.Job, empty) (empty, error) { return empty{}, nil }

// echo takes and returns raw JSON, so the output is byte for byte its input.
func echo(_ context.Context, _ *sdk.Job, in json.RawMessage) (json.RawMessage, error) {
	return in, nil
}

type bigArgs struct {
	MB int `json:"mb"`
}

// maxBigMB bounds big at twice the plugin protocol's message limit: enough
// to test a result over it, not a way to exhaust the machine.
const maxBigMB = 128

func (a bigArgs) Validate() error {
	if a.MB < 0 || a.MB > maxBigMB {
		return fmt.Errorf("mb must be between 0 and %d, got %d", maxBigMB, a.MB)
	}
	return nil
}

// big returns a string of mb MiB, for tests of results over a limit.
func big(_ context.Context, _ *sdk.Job, in bigArgs) (string, error) {
	return strings.Repeat("x", in.MB<<20), nil
}

type sleepArgs struct {
	MS int `json:"ms"`
}

func (a sleepArgs) Validate() error { return checkMS("ms", a.MS) }

type sleepResult struct {
	SleptMS int `json:"slept_ms"`
}

func sleep(ctx context.Context, _ *sdk.Job, in sleepArgs) (sleepResult, error) {
	if err := pause(ctx, in.MS); err != nil {
		return sleepResult{}, err
	}
	return sleepResult{SleptMS: in.MS}, nil
}

// pause waits ms milliseconds or until ctx ends, whichever comes first.
func pause(ctx context.Context, ms int) error {
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

type failArgs struct {
	Times     int  `json:"times"`
	Permanent bool `json:"permanent"`
	// Crash makes the failing attempts crash the process (a panic)
	// instead of returning an error: a plugin that crashes, then recovers.
	Crash bool `json:"crash"`
	// RetryAfterMS asks the host to wait this long before the next attempt
	// (sdk.RetryAfter) instead of its backoff.
	RetryAfterMS int `json:"retry_after_ms"`
}

func (a failArgs) Validate() error {
	if a.Times < 0 {
		return fmt.Errorf("times must be >= 0, got %d", a.Times)
	}
	if err := checkMS("retry_after_ms", a.RetryAfterMS); err != nil {
		return err
	}
	return nil
}

type failResult struct {
	Attempt int `json:"attempt"`
}

func fail(_ context.Context, job *sdk.Job, in failArgs) (failResult, error) {
	if job.Attempt() <= in.Times {
		err := fmt.Errorf("chaos: planned failure on attempt %d (fails while attempt <= %d)", job.Attempt(), in.Times)
		if in.Crash {
			panic(err.Error())
		}
		if in.Permanent {
			return failResult{}, sdk.Permanent(err)
		}
		if in.RetryAfterMS > 0 {
			return failResult{}, sdk.RetryAfter(err, time.Duration(in.RetryAfterMS)*time.Millisecond)
		}
		return failResult{}, err
	}
	return failResult{Attempt: job.Attempt()}, nil
}

// errNoResult never reaches a host: it is returned only where a task's
// process is already gone.
var errNoResult = errors.New("chaos: unreachable")
