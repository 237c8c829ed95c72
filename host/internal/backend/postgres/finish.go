package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

func checkFinishes(fs []backend.Finish) error {
	for _, f := range fs {
		if f.ID == "" || f.Owner == "" {
			return invalid("finish: a finish without a job id or owner")
		}
		switch f.State {
		case model.Completed, model.Failed, model.Canceled, model.Queued:
		default:
			return invalid("finish %s: state %q (want completed, failed, canceled or queued)", f.ID, f.State)
		}
	}
	return nil
}

func checkProgress(ps []backend.ProgressUpdate) error {
	for _, p := range ps {
		if p.ID == "" || p.Owner == "" {
			return invalid("progress: an update without a job id or owner")
		}
	}
	return nil
}

// Finish ends attempts in one transaction, with the cascades they
// decide; see backend.Writer.
func (s *Store) Finish(ctx context.Context, fs []backend.Finish) (backend.Changes, error) {
	if len(fs) == 0 {
		return backend.Changes{}, invalid("finish: nothing to finish")
	}
	if err := checkFinishes(fs); err != nil {
		return backend.Changes{}, err
	}
	var out backend.Changes
	err := s.write(ctx, func(w *wtx) error {
		if err := w.finish(fs); err != nil {
			return err
		}
		var err error
		out, err = w.changes("")
		return err
	})
	return out, err
}

// Step finishes, records progress and claims in one transaction; see
// backend.Writer.
func (s *Store) Step(ctx context.Context, p backend.StepParams) (backend.StepResult, error) {
	if err := checkFinishes(p.Finish); err != nil {
		return backend.StepResult{}, err
	}
	if err := checkProgress(p.Progress); err != nil {
		return backend.StepResult{}, err
	}
	if p.Claim.Limit > 0 {
		if err := checkClaim(p.Claim); err != nil {
			return backend.StepResult{}, err
		}
	}
	var out backend.StepResult
	err := s.write(ctx, func(w *wtx) error {
		out = backend.StepResult{}
		if len(p.Finish) > 0 {
			if err := w.finish(p.Finish); err != nil {
				return err
			}
			var err error
			if out.Changes, err = w.changes(""); err != nil {
				return err
			}
		}
		if err := w.progress(p.Progress); err != nil {
			return err
		}
		if p.Claim.Limit > 0 {
			var err error
			out.Claimed, err = w.claim(p.Claim)
			return err
		}
		return nil
	})
	return out, err
}

// finish applies a batch of finishes: the attempts' rows are locked in
// one statement (in id order, as every multi-row lock of the store is
// taken), each finish whose guard holds is applied, then the cascade of
// all of them is settled, stamped with the batch's latest end.
func (w *wtx) finish(fs []backend.Finish) error {
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
	}
	js, err := queryJobs(w.ctx, w.tx, "SELECT "+jobCols+` FROM jobs j WHERE j.id = ANY($1)
		AND (j.state = 'running' OR (j.state = 'paused' AND j.paused_from = 'running')) ORDER BY j.id FOR UPDATE`, ids)
	if err != nil {
		return err
	}
	byID := make(map[string]*model.Job, len(js))
	for _, j := range js {
		byID[j.ID] = j
	}
	var last time.Time
	for _, f := range fs {
		if f.At.After(last) {
			last = f.At
		}
		j := byID[f.ID]
		if j == nil || !runs(j) || j.Owner != f.Owner || j.Attempt != f.Attempt {
			w.c.skipped = append(w.c.skipped, f.ID)
			continue
		}
		if err := w.end(j, f); err != nil {
			return err
		}
	}
	return w.settle(last)
}

// end applies one finish to its job.
func (w *wtx) end(j *model.Job, f backend.Finish) error {
	if n := len(j.Attempts); n > 0 && j.Attempts[n-1].Attempt == j.Attempt {
		j.Attempts[n-1].FinishedAt = f.At
		j.Attempts[n-1].Error = cloneErr(f.Error)
	}
	if f.Progress != nil {
		j.Progress = *f.Progress
	}
	state := f.State
	if j.CancelRequested && (state == model.Queued || state == model.Failed) {
		// The cancel was asked before this end was committed: it wins
		// over a retry or a failure, as it would have on the host.
		state = model.Canceled
	}
	requested := j.CancelRequested && j.Error != nil
	j.CancelRequested = false
	j.Owner = ""
	switch state {
	case model.Completed:
		// A completed job is done: its progress is whole, whatever the
		// task last said.
		j.Progress.Fraction = 1
		j.Result = f.Result
		j.Error = nil
		return w.setState(j, model.Completed, f.At)
	case model.Failed:
		j.Error = cloneErr(f.Error)
		return w.setState(j, model.Failed, f.At)
	case model.Canceled:
		if !requested {
			j.Error = cloneErr(f.Error)
		}
		return w.setState(j, model.Canceled, f.At)
	}
	// A retry.
	j.Error = cloneErr(f.Error)
	j.RunAt = f.RetryAt
	if j.State == model.Paused {
		// Paused while running: the next attempt waits for resume.
		j.PausedFrom = model.Queued
		w.c.job(j)
		return w.save(j, false)
	}
	return w.setState(j, model.Queued, f.At)
}

func cloneErr(e *model.JobError) *model.JobError {
	if e == nil {
		return nil
	}
	c := *e
	return &c
}

// Progress records the progress of running attempts, guarded like
// Finish; see backend.Writer.
func (s *Store) Progress(ctx context.Context, ps []backend.ProgressUpdate) error {
	if err := checkProgress(ps); err != nil {
		return err
	}
	if len(ps) == 0 {
		return nil
	}
	return s.write(ctx, func(w *wtx) error { return w.progress(ps) })
}

// progress applies the updates in order, each guarded by running, owner
// and attempt, in one round trip.
func (w *wtx) progress(ps []backend.ProgressUpdate) error {
	if len(ps) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, p := range ps {
		b.Queue(`UPDATE jobs SET progress = $4 WHERE id = $1 AND owner = $2 AND attempt = $3
			AND (state = 'running' OR (state = 'paused' AND paused_from = 'running'))`,
			p.ID, p.Owner, p.Attempt, jsonOf(p.Progress))
	}
	return w.tx.SendBatch(w.ctx, b).Close()
}
