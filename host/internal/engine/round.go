package engine

import (
	"context"
	"sync"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/runner"
)

// The loop does not wait for the disk. It writes the ended attempts'
// outcomes (record) and claims work for the free slots (claim) without
// waiting for either commit: the store decides a claim at once and hands
// the jobs over (ClaimParams.Applied), and the attempts start while the
// commit is written. What each write changed is told (observer, waiters)
// only once it is durable, and in the order the loop issued the writes,
// so that nobody hears of a change a crash could still undo, and an
// attempt's end is never told before its start.

// told is one write's place in the order of telling.
type told struct {
	prev, done chan struct{} // prev: the write before was told; done: this one was
}

// nextTold takes the next place in the order of telling. The loop's
// writes take theirs when issued; API writes take theirs too, so that
// nobody hears of a job running before it heard the job was queued, or of
// a replacement starting before the attempt it replaced ended.
func (e *Engine) nextTold() told {
	e.toldMu.Lock()
	defer e.toldMu.Unlock()
	t := told{prev: e.lastTold, done: make(chan struct{})}
	e.lastTold = t.done
	return t
}

// record writes outcomes and progress (a Step without claim) in the
// background. The caller counted it in e.recording.
func (e *Engine) record(p backend.StepParams, ended []*attempt) {
	t := e.nextTold()
	e.tellers.Add(1)
	go func() {
		defer e.tellers.Done()
		defer close(t.done)
		res, err := e.stepUntilTaken(p)
		e.mu.Lock()
		e.recording--
		for _, f := range p.Finish {
			if e.unrecorded[f.ID]--; e.unrecorded[f.ID] <= 0 {
				delete(e.unrecorded, f.ID)
			}
		}
		e.idleLocked()
		voided := false
		for _, a := range ended {
			if a.voided {
				a.voided, voided = false, true
				e.voiding--
			}
		}
		e.mu.Unlock()
		if voided {
			e.Wake() // claims may go on
		}
		if err != nil && !unavailable(err) {
			e.log.Error("recording the outcomes of attempts failed", "error", err)
			e.fail(err)
		}
		<-t.prev
		for _, a := range ended {
			<-a.announced // an attempt's end is told after its start
		}
		if err == nil {
			e.observe(res.Changes)
		}
	}()
}

// A claimRound is a claim in flight: the slots it reserved are released,
// and the claimed attempts started, once the store decided it.
type claimRound struct {
	reserve int
	// loop: the loop made the claim, and looks at the rates' next tokens
	// after it; a claim made elsewhere (Insert) that empties a rate's
	// bucket wakes the loop so that it does.
	loop    bool
	once    sync.Once
	applied chan struct{}
	claimed []*attempt // as started
}

// claim claims work for free slots and waits until the store decided
// which (not until that is durable).
func (e *Engine) claim(p backend.ClaimParams) {
	r := &claimRound{reserve: p.Limit, loop: true, applied: make(chan struct{})}
	// The claim's place in the order of telling is taken when the store
	// decided it, not when the loop issued it: a store that decides at
	// commit (PostgreSQL) may take a job whose insert, issued after this
	// claim, committed before it, and the job's queued state must be told
	// before its running one.
	var t told
	var once sync.Once
	place := func() { once.Do(func() { t = e.nextTold() }) }
	p.Applied = func(claimed []*model.Job) {
		place()
		e.decided(r, claimed, nil)
	}
	e.tellers.Add(1)
	go func() {
		defer e.tellers.Done()
		js, err := e.store.Claim(context.Background(), p)
		place()
		defer close(t.done)
		switch {
		case unavailable(err):
			e.storeDown("claiming jobs", err)
			e.lostClaim()
		case err != nil:
			e.log.Error("claiming jobs failed", "error", err)
			e.fail(err)
		default:
			e.storeUp()
		}
		e.decided(r, js, err)
		if err != nil {
			e.voidClaim(r)
		}
		<-t.prev
		e.settleClaim(r, err)
	}()
	<-r.applied
}

// decided acts on a decided claim, once: the claimed attempts start and
// the reserved slots are released.
func (e *Engine) decided(r *claimRound, claimed []*model.Job, err error) {
	r.once.Do(func() {
		var emptied bool
		if err == nil {
			r.claimed, emptied = e.launch(claimed)
		}
		if r.reserve > 0 {
			e.claimDone(r.reserve, len(claimed)) // after launch: the claimed attempts count
		}
		if emptied && !r.loop {
			e.Wake()
		}
		close(r.applied)
	})
}

// settleClaim tells a durable claim's jobs as running. A claim that
// failed after its jobs were handed over is void: its attempts are
// interrupted, and their outcomes will not be written (the store has
// failed, or the guard refuses them).
func (e *Engine) settleClaim(r *claimRound, err error) {
	if err != nil {
		e.voidClaim(r)
	}
	e.announce(r.claimed, err == nil)
}

// voidClaim interrupts the attempts of a claim that failed after its jobs
// were handed over, as soon as it failed: they must not run on while the
// writes before the claim are told. Until their outcomes are written no
// claim is made (see Engine.voiding).
func (e *Engine) voidClaim(r *claimRound) {
	e.mu.Lock()
	for _, a := range r.claimed {
		if e.attempts[a.job.ID] == a && !a.voided {
			a.voided = true
			e.voiding++
		}
	}
	e.mu.Unlock()
	for _, a := range r.claimed {
		a.ctl.cancel(runner.ErrInterrupted)
	}
}
