package postgres

import (
	"context"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

// Request applies a user's request to one job; see backend.Writer.
func (s *Store) Request(ctx context.Context, r backend.Request) (backend.RequestResult, error) {
	if r.ID == "" {
		return backend.RequestResult{}, invalid("request: no job id")
	}
	if r.Kind < backend.RequestCancel || r.Kind > backend.RequestSubmit {
		return backend.RequestResult{}, invalid("request %s: unknown kind %d", r.ID, r.Kind)
	}
	r.Now = stamp(r.Now)
	var out backend.RequestResult
	err := s.write(ctx, func(w *wtx) error {
		out = backend.RequestResult{}
		j, err := w.lock(r.ID)
		if err != nil {
			return err
		}
		if j == nil {
			return notFound("job %s not found", r.ID)
		}
		before, err := w.queued(r.MaxQueued)
		if err != nil {
			return err
		}
		if err := w.request(j, r); err != nil {
			return err
		}
		if err := w.settle(r.Now); err != nil {
			return err
		}
		if err := w.checkRoom(r.MaxQueued, before); err != nil {
			return err
		}
		if j, err = w.lock(r.ID); err != nil {
			return err
		}
		out.Job = j
		if runs(j) && r.Kind != backend.RequestRetry && r.Kind != backend.RequestSubmit {
			out.Owner = j.Owner
		}
		out.Changes, err = w.changes()
		return err
	})
	return out, err
}

func (w *wtx) request(j *model.Job, r backend.Request) error {
	switch r.Kind {
	case backend.RequestCancel:
		if j.State.Terminal() {
			return stateErr("job %s is already %s; nothing to cancel", j.ID, j.State)
		}
		why := cloneErr(r.Why)
		if why == nil {
			why = &model.JobError{Kind: errkind.Canceled, Message: "canceled by request"}
		}
		return w.cancel(j, why, r.Now)
	case backend.RequestPause:
		switch j.State {
		case model.Queued, model.Waiting, model.Running:
		default:
			return stateErr("job %s is %s: only queued, waiting or running jobs can be paused", j.ID, j.State)
		}
		from := j.State
		if from == model.Running {
			w.notify = true
		}
		j.PausedFrom = from
		return w.setState(j, model.Paused, r.Now)
	case backend.RequestResume:
		if j.State != model.Paused {
			return stateErr("job %s is %s, not paused", j.ID, j.State)
		}
		if j.PausedFrom == model.Running {
			w.notify = true
			return w.setState(j, model.Running, r.Now)
		}
		return w.enqueue(j, r.Now)
	case backend.RequestRetry:
		if j.State != model.Failed && j.State != model.Canceled {
			return stateErr("job %s is %s: only failed or canceled jobs can be retried", j.ID, j.State)
		}
		return w.retry(j, r.Now)
	case backend.RequestSubmit:
		if j.State != model.Created {
			return stateErr("job %s is %s, not created: only created jobs can be submitted", j.ID, j.State)
		}
		return w.enqueue(j, r.Now)
	}
	return nil
}
