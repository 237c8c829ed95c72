package engine

import (
	"context"
	"math"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/joblog"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/runner"
)

// maxProgressMessage bounds what is kept of a progress message; the SDK
// cuts at the same size, a plugin written against the raw protocol may
// not.
const maxProgressMessage = 4 << 10

// attempt is one of this host's running attempts.
type attempt struct {
	job        *model.Job // as claimed
	ctl        *attemptCtl
	progress   model.Progress // the last reported, cleaned
	progressed bool
	// announced is closed once the attempt's running state was told to
	// the observer: its progress and logs, and its end, are told after.
	// Events that come before wait in held (under evmu), in order.
	announced chan struct{}
	evmu      sync.Mutex
	told      bool
	void      bool // its claim failed: nothing of it is told
	held      []func()
	// voided (under the engine's mu): its claim failed, and its outcome
	// is not written yet; see Engine.voiding. superseded: a later claim
	// took its job at the same attempt (its own claim failed before the
	// engine knew it): its outcome is not written.
	voided, superseded bool
}

// announce lets the attempt's events through, those held first.
func (a *attempt) announce() {
	a.evmu.Lock()
	defer a.evmu.Unlock()
	if a.told {
		return
	}
	for _, ev := range a.held {
		ev()
	}
	a.held, a.told = nil, true
	close(a.announced)
}

// silence drops the events held for an attempt whose claim is void and
// lets nothing of it through: it never ran as far as anyone was told.
func (a *attempt) silence() {
	a.evmu.Lock()
	defer a.evmu.Unlock()
	if a.told {
		return
	}
	a.held, a.told, a.void = nil, true, true
	close(a.announced)
}

// tell tells an event of the attempt now, or after its start was told.
// It does not wait: a plugin's events must not wait for the disk.
func (a *attempt) tell(ev func()) {
	a.evmu.Lock()
	defer a.evmu.Unlock()
	if a.void {
		return
	}
	if a.told {
		ev()
	} else {
		a.held = append(a.held, ev)
	}
}

type result struct {
	id      string
	attempt int
	outcome runner.Outcome
	span    trace.Span // ended once the outcome is decided
	a       *attempt
}

type update struct {
	id      string
	attempt int
	p       model.Progress
	at      time.Time
}

// maxRound bounds how many results and updates one round takes, so that
// a flood still gets answers at a steady pace.
const maxRound = 512

func (e *Engine) drainResults(rs []result) []result {
	for len(rs) < maxRound {
		select {
		case r := <-e.results:
			rs = append(rs, r)
		default:
			return rs
		}
	}
	return rs
}

func (e *Engine) drainUpdates(us []update) []update {
	for len(us) < maxRound {
		select {
		case u := <-e.updates:
			us = append(us, u)
		default:
			return us
		}
	}
	return us
}

// step is one round in one store transaction: the outcomes of the ended
// attempts, the progress reported, and as many new claims as there are
// free workers (counting those the outcomes free), within the limits.
func (e *Engine) step(rs []result, us []update) {
	now := e.cfg.Clock.Now()
	var p backend.StepParams
	var ended []*attempt
	var spans []func()
	e.mu.Lock()
	for _, r := range rs {
		a := e.attempts[r.id]
		if r.a != nil && r.a.superseded {
			r.span.End()
			continue
		}
		if a == nil || a.job.Attempt != r.attempt || (r.a != nil && a != r.a) {
			e.log.Error("engine bug: outcome for an attempt not running", "job", r.id, "attempt", r.attempt)
			r.span.End()
			continue
		}
		ended = append(ended, a)
		jerr := attemptError(r.outcome, e.cfg.MaxResultBytes)
		var after time.Duration
		if r.outcome.Err != nil {
			after = r.outcome.Err.RetryAfter
		}
		f := decide(a.job, jerr, after, now, e.rnd.Float64)
		if f.State == model.Completed {
			f.Result = r.outcome.Output
			pr := model.Progress{Fraction: 1, Message: a.progress.Message}
			f.Progress = &pr
		} else if a.progressed {
			pr := a.progress
			f.Progress = &pr
		}
		p.Finish = append(p.Finish, f)
		if r.span.IsRecording() {
			span, at := r.span, r.outcome.Finished
			spans = append(spans, func() { endAttemptSpan(span, f.State, jerr, at) })
		}
	}
	// Only the latest progress of each attempt is written.
	latest := map[string]int{}
	for _, u := range us {
		a := e.attempts[u.id]
		if a == nil || a.job.Attempt != u.attempt {
			continue
		}
		pu := backend.ProgressUpdate{ID: u.id, Owner: e.cfg.Owner, Attempt: u.attempt, Progress: u.p}
		if i, ok := latest[u.id]; ok {
			p.Progress[i] = pu
		} else {
			latest[u.id] = len(p.Progress)
			p.Progress = append(p.Progress, pu)
		}
	}
	free := e.cfg.MaxWorkers - len(e.attempts) + len(ended) - e.reserved
	var claim backend.ClaimParams
	if e.canClaimLocked(free) {
		quota, plugins := e.quotaLocked(free, ended, now)
		claim = backend.ClaimParams{Owner: e.cfg.Owner, Limit: free, Now: now, Quota: quota, PluginQuota: plugins, AnyTask: e.anyTask(free),
			Capacity: e.capacityLocked(ended)}
		e.reserved += free
		e.claiming = true
	}
	if len(p.Finish) > 0 || len(p.Progress) > 0 {
		e.recording++ // before ended frees the slots: Stop waits for the write
		for _, f := range p.Finish {
			e.unrecorded[f.ID]++
		}
	}
	e.mu.Unlock()
	for _, end := range spans {
		end()
	}
	// The ended attempts' slots are free now: their outcomes are written
	// beside the claim that reuses them, not before it.
	e.ended(ended)
	if len(p.Finish) > 0 || len(p.Progress) > 0 {
		e.record(p, ended)
	}
	if claim.Limit > 0 {
		e.claim(claim)
	}
}

// ended forgets attempts whose outcome is recorded, freeing their slots.
func (e *Engine) ended(as []*attempt) {
	if len(as) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range as {
		if e.attempts[a.job.ID] == a {
			delete(e.attempts, a.job.ID)
			e.useLimitsLocked(a.job.Task, -1)
			e.inUse = e.inUse.Sub(a.job.Resources)
		}
	}
	e.idleLocked()
}

// idleLocked answers Stop's waits once no attempt runs and every outcome
// written is durable. The caller holds e.mu.
func (e *Engine) idleLocked() {
	if len(e.attempts) == 0 && e.recording == 0 {
		for _, c := range e.idle {
			close(c)
		}
		e.idle = nil
	}
}

// launch starts attempts of claimed jobs and takes their rate tokens
// (reporting whether a rate's bucket was emptied). Their running state is
// announced once the claim is durable (announce); until then their
// progress and logs wait.
func (e *Engine) launch(jobs []*model.Job) (as []*attempt, emptied bool) {
	if len(jobs) == 0 {
		return nil, false
	}
	as = make([]*attempt, len(jobs))
	e.mu.Lock()
	emptied = e.spendRatesLocked(jobs)
	for i, j := range jobs {
		if old := e.attempts[j.ID]; old != nil {
			// The claim of old failed, and its job was queued again and
			// claimed before the engine heard: the store says the job
			// is this claim's now. old ends unwritten.
			old.superseded = true
			if old.voided {
				old.voided = false
				e.voiding--
			}
			e.useLimitsLocked(old.job.Task, -1)
			old.ctl.cancel(runner.ErrInterrupted)
		}
		a := &attempt{job: j, ctl: &attemptCtl{}, announced: make(chan struct{})}
		as[i] = a
		e.attempts[j.ID] = a
		e.useLimitsLocked(j.Task, 1)
		e.inUse = e.inUse.Add(j.Resources)
		go e.runAttempt(a)
	}
	e.mu.Unlock()
	return as, emptied
}

// announce tells the observer that claimed attempts run (when their
// claim is durable; a void claim's attempts are being interrupted), and
// lets their progress, logs and end through.
func (e *Engine) announce(as []*attempt, durable bool) {
	if len(as) == 0 {
		return
	}
	if durable {
		jobs := make([]*model.Job, len(as))
		prev := make([]model.State, len(as))
		for i, a := range as {
			jobs[i], prev[i] = a.job, model.Queued
		}
		e.obs.Jobs(jobs, prev)
	}
	for _, a := range as {
		if durable {
			a.announce()
		} else {
			a.silence()
		}
	}
}

// quotaLocked is, per served task, how many attempts of it may start now,
// counting the slots of the attempts that are ending. now is the time
// the claim stamps as its attempts' start: rate tokens are counted at
// that time too, or a clock read later would count tokens that were not
// there when the attempts are said to start.
func (e *Engine) quotaLocked(free int, ending []*attempt, now time.Time) (map[string]int, map[string]int) {
	use := e.limitUse
	if len(ending) > 0 && len(e.cfg.Limits) > 0 {
		use = make(map[string]int, len(e.limitUse))
		for k, v := range e.limitUse {
			use[k] = v
		}
		for _, a := range ending {
			if _, ok := use[a.job.Task]; ok {
				use[a.job.Task]--
			}
			if p := model.PluginOf(a.job.Task); p != a.job.Task {
				if _, ok := use[p]; ok {
					use[p]--
				}
			}
		}
	}
	tasks := e.runner.Tasks()
	q := make(map[string]int, len(tasks))
	var plugins map[string]int
	for _, t := range tasks {
		n := free
		if lim, ok := e.cfg.Limits[t]; ok {
			n = min(n, lim-use[t])
		}
		q[t] = max(n, 0)
		if p := model.PluginOf(t); p != t {
			if lim, ok := e.cfg.Limits[p]; ok {
				if plugins == nil {
					plugins = map[string]int{}
				}
				plugins[p] = max(lim-use[p], 0)
			}
		}
	}
	if len(e.cfg.Rates) > 0 {
		plugins = e.capRatesLocked(q, plugins, free, now)
	}
	return q, plugins
}

// capacityLocked is what a claim's jobs may need (nil: no capacity),
// counting the needs of the attempts that are ending as free. The claim
// in flight is the only one, and its jobs are counted in inUse when it
// is decided (launch), before the next claim is made.
func (e *Engine) capacityLocked(ending []*attempt) *backend.Capacity {
	if e.cfg.Capacity == nil {
		return nil
	}
	free := e.cfg.Capacity.Sub(e.inUse)
	for _, a := range ending {
		free = free.Add(a.job.Resources)
	}
	if e.cfg.MemoryPressure != nil {
		pressed := e.cfg.MemoryPressure()
		if pressed != e.pressed {
			if pressed {
				e.log.Warn("memory pressure at or above the limit: jobs that need memory wait until it falls")
			} else {
				e.log.Info("memory pressure below the limit again: jobs that need memory start")
			}
			e.pressed = pressed
		}
		if pressed {
			free.MemoryMB = min(free.MemoryMB, 0)
		}
	}
	return &backend.Capacity{Free: free, Total: *e.cfg.Capacity}
}

func (e *Engine) useLimitsLocked(task string, delta int) {
	if len(e.cfg.Limits) == 0 {
		return
	}
	if _, ok := e.cfg.Limits[task]; ok {
		e.limitUse[task] += delta
	}
	if p := model.PluginOf(task); p != task {
		if _, ok := e.cfg.Limits[p]; ok {
			e.limitUse[p] += delta
		}
	}
}

// runAttempt drives one attempt on its own goroutine and hands the outcome
// to the loop. Logs go straight to the job's log file and the observer;
// progress goes through the loop, which records it in the store first.
func (e *Engine) runAttempt(a *attempt) {
	j := a.job
	var w *joblog.Writer
	if e.cfg.Logs != nil {
		w = e.cfg.Logs.Writer(j.ID)
	}
	onEvent := func(ev runner.Event) {
		switch ev.Kind {
		case runner.EventProgress:
			p, ok := cleanProgress(model.Progress{Fraction: ev.Fraction, Message: ev.Message})
			if !ok {
				return
			}
			// Published from here, like logs, so that a job's progress and
			// log events keep the order the plugin sent them in; the loop
			// records the progress in the store with its next round.
			e.mu.Lock()
			a.progress, a.progressed = p, true
			e.mu.Unlock()
			// A report that was on its way when the process was stopped
			// is kept but not announced: a paused job shows no activity.
			if !a.ctl.isPaused() {
				a.tell(func() { e.obs.Progress(j, j.Attempt, p, ev.Time) })
			}
			select {
			case e.updates <- update{id: j.ID, attempt: j.Attempt, p: p, at: ev.Time}:
			case <-e.stopped:
			}
		case runner.EventLog:
			rec := joblog.Record{Time: ev.Time, Attempt: j.Attempt, Level: ev.Level, Message: ev.Message, Fields: ev.Fields}
			if w != nil {
				w.Append(rec)
			}
			a.tell(func() { e.obs.Log(j, rec) })
		}
	}
	span, tc := e.startAttemptSpan(j)
	ra := runner.Attempt{
		JobID: j.ID, Attempt: j.Attempt, MaxAttempts: j.AttemptBase + j.MaxAttempts, Task: j.Task,
		Args: j.Args, Timeout: j.Timeout, StallTimeout: j.StallTimeout,
		TraceParent: tc.Parent, TraceState: tc.State,
	}
	var out runner.Outcome
	run, err := e.runner.Start(context.Background(), ra, onEvent)
	if err != nil {
		out = startError(err, time.Now())
	} else {
		a.ctl.attach(run)
		<-run.Done()
		out = run.Outcome()
	}
	if w != nil {
		if err := w.Close(); err != nil {
			e.log.Warn("job log could not be written", "job", j.ID, "error", err)
		}
	}
	select {
	case e.results <- result{id: j.ID, attempt: j.Attempt, outcome: out, span: span, a: a}:
	case <-e.stopped:
		// Nobody decides this outcome: the next start finds the attempt
		// interrupted.
		span.SetAttributes(AttrOutcome.String("interrupted"))
		span.End()
	}
}

// cleanProgress keeps a plugin's progress storable: no NaN, within [0,1],
// a bounded message.
func cleanProgress(p model.Progress) (model.Progress, bool) {
	if math.IsNaN(p.Fraction) {
		return p, false
	}
	p.Fraction = min(max(p.Fraction, 0), 1)
	if len(p.Message) > maxProgressMessage {
		p.Message = strings.ToValidUTF8(p.Message[:maxProgressMessage], "")
	}
	return p, true
}

// attemptCtl lets the engine pause, resume and cancel an attempt whose
// plugin run may not have started yet: requests made before the run exists
// are applied when it attaches.
type attemptCtl struct {
	mu       sync.Mutex
	run      Attempt
	paused   bool
	canceled error
}

func (c *attemptCtl) attach(r Attempt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.run = r
	if c.canceled != nil {
		r.Cancel(c.canceled)
	} else if c.paused {
		_ = r.Pause()
	}
}

func (c *attemptCtl) pause() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.paused = true
	if c.run != nil && c.canceled == nil {
		_ = c.run.Pause()
	}
}

func (c *attemptCtl) isPaused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paused
}

func (c *attemptCtl) resume() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.paused = false
	if c.run != nil {
		_ = c.run.Resume()
	}
}

// cancel stops the attempt with cause (runner.ErrCanceled or
// runner.ErrInterrupted). A stopped process is continued first so that it
// can see the cancellation and return within the grace period.
func (c *attemptCtl) cancel(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.canceled != nil {
		return
	}
	c.canceled = cause
	if c.run != nil {
		if c.paused {
			_ = c.run.Resume()
		}
		c.run.Cancel(cause)
	}
}

// anyTask is how many jobs of tasks no loaded plugin serves a claim may
// take (see Config.Shared).
func (e *Engine) anyTask(free int) int {
	if e.cfg.Shared {
		return 0
	}
	return free
}

// sharedRecheck is how long after a short claim on a shared store the
// engine looks once more.
const sharedRecheck = 50 * time.Millisecond

// canClaimLocked reports whether a claim of free slots may be made now:
// the engine runs, and no other claim is in flight (two at once would
// each count the same free slots and limits).
func (e *Engine) canClaimLocked(free int) bool {
	ok := e.running && !e.stopping && !e.paused && e.failed == nil && e.voiding == 0 && free > 0 && !e.fencedLocked()
	if ok && e.claiming {
		e.missed = true
	}
	return ok && !e.claiming
}

// claimDone releases the slots a claim reserved; its jobs are counted in
// attempts by now. The loop looks again if the claim filled every slot
// (more may be claimable) or a round could not claim while it was in
// flight; a claim that found less than it could leaves the loop to wait
// for the store's next signal.
func (e *Engine) claimDone(reserved, got int) {
	e.mu.Lock()
	e.reserved -= reserved
	e.claiming = false
	e.claims++
	again := got >= reserved || e.missed
	e.missed = false
	// A shared store decides a claim when its statement runs: a job
	// committed by another connection just after (an insert or a release
	// this host's own writes made) can be missed, and its notification
	// may have been taken by the round that issued this claim. Look once
	// more a moment later; a look that finds nothing again does not
	// repeat, so an idle host does not poll.
	if e.cfg.Shared && !again {
		if !e.rechecked {
			e.rechecked = true
			time.AfterFunc(sharedRecheck, e.Wake)
		}
	} else {
		e.rechecked = false
	}
	for _, c := range e.claimWaits {
		close(c)
	}
	e.claimWaits = nil
	e.mu.Unlock()
	if again {
		e.Wake()
	}
}
