package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/jsonshape"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/retry"
	"github.com/batchhost/batchhost/host/internal/runner"
)

// attemptError is what an attempt's outcome means as a job error, nil for
// a success: the plugin's error, or a result the host refuses (too large,
// not JSON, not a shape it can store).
func attemptError(out runner.Outcome, maxResult int) *model.JobError {
	if e := out.Err; e != nil {
		return &model.JobError{Kind: e.Kind, Message: jsonshape.Text(e.Message), Retryable: e.Retryable,
			Exit: jsonshape.Text(e.Exit), Stderr: jsonshape.Text(e.Stderr)}
	}
	if maxResult > 0 && len(out.Output) > maxResult {
		return &model.JobError{Kind: errkind.ResultTooLarge, Message: fmt.Sprintf("result is %d bytes, over the %d byte limit", len(out.Output), maxResult)}
	}
	if len(out.Output) > 0 {
		problem := ""
		if !json.Valid(out.Output) {
			problem = "not valid JSON"
		} else if err := jsonshape.Check(out.Output); err != nil {
			problem = err.Error()
		}
		if problem != "" {
			return &model.JobError{Kind: errkind.TaskError, Message: "plugin returned a result that is " + problem}
		}
	}
	return nil
}

// startError is the outcome of an attempt that could not start.
func startError(err error, at time.Time) runner.Outcome {
	kind := errkind.PluginCrashed
	if errors.Is(err, runner.ErrUnknownTask) {
		kind = errkind.UnknownTask
	}
	return runner.Outcome{Started: at, Finished: at, Err: &runner.AttemptError{Kind: kind, Message: err.Error(), Retryable: kind == errkind.PluginCrashed}}
}

// decide turns an attempt's error into its outcome for the store, by the
// one rule of retry.Decide. j is the job as claimed.
func decide(j *model.Job, jerr *model.JobError, retryAfter time.Duration, now time.Time, rnd func() float64) backend.Finish {
	f := backend.Finish{ID: j.ID, Owner: j.Owner, Attempt: j.Attempt, Error: jerr, At: now}
	d := retry.Decide(retry.Ended{Err: jerr, RetryAfter: retryAfter, CancelRequested: j.CancelRequested,
		Used: j.Attempt - j.AttemptBase, Max: j.MaxAttempts, Backoff: j.Backoff}, now, rnd)
	switch d.Verdict {
	case retry.Complete:
		f.State = model.Completed
	case retry.Cancel:
		f.State = model.Canceled
	case retry.Retry:
		f.State, f.RetryAt = model.Queued, d.At
	default:
		f.State = model.Failed
	}
	return f
}

// interrupted is the outcome of an attempt that was running when its host
// went away: it counts, and the retry policy decides.
func interrupted(j *model.Job, now time.Time) backend.Finish {
	jerr := &model.JobError{Kind: errkind.Interrupted, Message: "the host stopped while this attempt was running", Retryable: true}
	return decide(j, jerr, 0, now, nil)
}
