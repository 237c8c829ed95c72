package engine

import (
	"context"
	"errors"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/runner"
)

// On a shared store a request about one of this host's attempts may be
// made on another host (cancel, pause, resume, a group's cancel-on-
// failure), and the leader may rescue an attempt this host still runs
// (after it was cut off). The store records all of that on the job; this
// host reads its attempts' records again whenever the store signals a
// change (and at every poll) and does what they say.

// checkRemote asks the remote watcher to look, without waiting.
func (e *Engine) checkRemote() {
	if !e.cfg.Shared {
		return
	}
	select {
	case e.remote <- struct{}{}:
	default:
	}
}

// watchRemote runs until Close, on a shared store.
func (e *Engine) watchRemote() {
	for {
		select {
		case <-e.remote:
			e.reconcile()
		case <-e.quit:
			return
		}
	}
}

// reconcile reads this host's attempts' records and applies what other
// hosts asked of them.
func (e *Engine) reconcile() {
	e.mu.Lock()
	as := make([]*attempt, 0, len(e.attempts))
	for _, a := range e.attempts {
		// Only attempts whose claim is durable: before that the record
		// does not name this host yet.
		select {
		case <-a.announced:
			as = append(as, a)
		default:
		}
	}
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), e.ttl())
	defer cancel()
	e.settleOrphans(ctx)
	for _, a := range as {
		j, err := e.store.Job(ctx, a.job.ID)
		if errors.Is(err, backend.ErrNotFound) {
			a.ctl.cancel(runner.ErrInterrupted)
			continue
		}
		if err != nil {
			return // the heartbeat decides whether we are cut off
		}
		switch {
		case j.Owner != e.cfg.Owner || j.Attempt != a.job.Attempt:
			// Rescued by the leader, maybe running elsewhere now: this
			// attempt's outcome would be refused.
			a.ctl.cancel(runner.ErrInterrupted)
		case j.CancelRequested:
			e.mu.Lock()
			a.job.CancelRequested = true
			e.mu.Unlock()
			a.ctl.cancel(runner.ErrCanceled)
		case j.State == model.Paused && !a.ctl.isPaused():
			a.ctl.pause()
		case j.State == model.Running && a.ctl.isPaused():
			a.ctl.resume()
		}
	}
}
