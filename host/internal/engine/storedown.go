package engine

import (
	"context"
	"errors"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// A shared store's database may stop answering for a while (restarting,
// out of reach) and come back. The engine keeps going instead of taking
// that for a failed store (backend.ErrUnavailable is not latched as
// ErrFailed is):
//   - the outcomes of ended attempts are written again until the store
//     takes them (a write that did land is refused the second time by its
//     owner and attempt guard, and counted as skipped);
//   - a claim whose answer was lost may have claimed jobs the engine does
//     not run: the next look at the store finds them (this host's owner,
//     no attempt here) and ends them as interrupted, to follow their
//     retry policy;
//   - schedules wait a second before they try to fire again;
//   - a host cut off for a whole lease stops its attempts (see members).
// Each of these says so in the log once per outage, not once per try.

// downLogEvery bounds how often one outage is logged again.
const downLogEvery = 30 * time.Second

// storeDown notes that the store did not answer what.
func (e *Engine) storeDown(what string, err error) {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.downSince.IsZero() {
		e.downSince = now
	}
	if now.Sub(e.downLogged) >= downLogEvery {
		e.downLogged = now
		if errors.Is(err, backend.ErrNoSpace) {
			e.downNoSpace = true
			e.log.Warn("no space left for the data file; trying again", "while", what, "down_for", now.Sub(e.downSince).Round(time.Millisecond), "error", err)
			return
		}
		e.log.Warn("the shared queue's database did not answer; trying again", "while", what, "down_for", now.Sub(e.downSince).Round(time.Millisecond), "error", err)
	}
}

// storeUp notes a write the store took: an outage, if any, is over.
func (e *Engine) storeUp() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.downSince.IsZero() {
		if e.downNoSpace {
			e.log.Info("the data file takes writes again", "down_for", time.Since(e.downSince).Round(time.Millisecond))
		} else {
			e.log.Info("the shared queue's database answers again", "down_for", time.Since(e.downSince).Round(time.Millisecond))
		}
		e.downSince, e.downLogged, e.downNoSpace = time.Time{}, time.Time{}, false
	}
}

// unavailable reports whether err is a shared store's passing outage.
func unavailable(err error) bool { return errors.Is(err, backend.ErrUnavailable) }

// stepUntilTaken writes p, again and again while the store is
// unavailable, until it takes it or the engine closes (then the leader
// rescues what was not written once this host's registration expires).
func (e *Engine) stepUntilTaken(p backend.StepParams) (backend.StepResult, error) {
	res, err := e.store.Step(context.Background(), p)
	for delay := 50 * time.Millisecond; unavailable(err); delay = min(2*delay, 2*time.Second) {
		e.storeDown("recording the outcomes of attempts", err)
		select {
		case <-e.quit:
			e.log.Warn("closing with outcomes of attempts not recorded: the shared queue's leader will rescue their jobs", "attempts", len(p.Finish))
			return res, err
		case <-time.After(delay):
		}
		res, err = e.store.Step(context.Background(), p)
	}
	if err == nil {
		e.storeUp()
	}
	return res, err
}

// lostClaim notes a claim whose answer did not arrive: it may have been
// made.
func (e *Engine) lostClaim() {
	e.mu.Lock()
	e.orphans = true
	e.mu.Unlock()
	e.checkRemote()
}

// settleOrphans ends as interrupted the running jobs the store says this
// host owns but which it does not run: the claims whose answers were
// lost. It runs after a lost claim only, when no claim is in flight (a
// claim in flight may own jobs the engine has not started yet), and
// leaves alone the jobs whose outcomes are being written.
func (e *Engine) settleOrphans(ctx context.Context) {
	e.mu.Lock()
	if !e.orphans || e.claiming {
		e.mu.Unlock()
		return
	}
	gen := e.claims
	e.mu.Unlock()
	now := time.Now()
	hosts, err := e.store.Hosts(ctx, now)
	if err != nil {
		return // looked at again at the next poll
	}
	// Running lists the jobs whose owner is not among those given: every
	// other host, so what is left is this host's (and the dead's, which
	// the leader rescues).
	others := make([]string, 0, len(hosts))
	for _, h := range hosts {
		if h.Owner != e.cfg.Owner {
			others = append(others, h.Owner)
		}
	}
	if len(others) == 0 {
		others = []string{""}
	}
	running, err := e.store.Running(ctx, others)
	if err != nil {
		return
	}
	e.mu.Lock()
	if e.claiming || e.claims != gen {
		e.mu.Unlock()
		return // a claim came in between: look again later
	}
	var lost []*model.Job
	for _, j := range running {
		// A job whose outcome is being written is this host's in the
		// store until the write lands; one whose write landed since the
		// read is refused by the finish's guard.
		if j.Owner == e.cfg.Owner && e.attempts[j.ID] == nil && e.unrecorded[j.ID] == 0 {
			lost = append(lost, j)
		}
	}
	e.mu.Unlock()
	if len(lost) > 0 {
		fs := make([]backend.Finish, len(lost))
		for i, j := range lost {
			fs[i] = interrupted(j, e.cfg.Clock.Now())
		}
		ch, err := e.store.Finish(ctx, fs)
		if err != nil {
			return
		}
		e.log.Warn("ended the attempts of a claim whose answer was lost as interrupted", "attempts", len(fs)-len(ch.Skipped))
		e.observe(ch)
	}
	e.mu.Lock()
	if e.claims == gen {
		e.orphans = false
	}
	e.mu.Unlock()
}
