package host

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/batchhost/batchhost/host/internal/joblog"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/queue"
	"github.com/batchhost/batchhost/host/internal/runner"
	"github.com/batchhost/batchhost/host/internal/store"
)

// engine is the host's state machine. One goroutine (run) owns every field
// below the channels: the live jobs, the ready queue, the group counters,
// the dependency index. Everything else talks to it through channels, so
// there are no locks around engine state. Changes made while handling one
// round of messages go to the store as one batch; replies and events are
// released when that batch is durable.
type engine struct {
	cfg     *Config
	store   jobStore
	plugins *runner.Manager
	logs    *joblog.Dir
	hub     *hub
	clock   Clock
	log     hclog.Logger

	calls   chan call
	results chan attemptResult
	updates chan progressUpdate
	inbox   inbox
	quit    chan struct{}
	stopped chan struct{}

	jobs       map[string]*jobState           // unfinished jobs, and finished ones until their final state is durable
	groups     map[string]*groupState         // groups with unfinished members, or touched since
	dependents map[string]map[string]struct{} // unfinished job → unfinished jobs that depend on it
	keys       map[string]string              // idempotency key → id, for jobs in memory
	queue      *queue.Queue
	queued     int // jobs in state queued
	busy       int // attempts running
	limitUse   map[string]int
	started    bool
	startedAt  time.Time // when Start last began dispatching: fire times before it were missed
	stopping   bool
	paused     bool // dispatch paused
	failed     error
	problems   []error         // found at recovery; reported by Problems
	idle       []chan struct{} // Stop waiting for busy == 0

	batch       *store.Batch
	batchUsed   bool
	dirtyJobs   map[string]*jobState
	dirtyGroups map[string]*groupState
	events      []Event
	cascade     []*jobState // finished jobs whose dependents and group still need resolving

	schedules map[string]*scheduleState
	nextFire  time.Time // earliest NextFire of the unpaused schedules

	timer   Timer
	timerAt time.Time
	rnd     *rand.Rand
}

type jobState struct {
	job *model.Job
	// unfinished counts dependencies that have not finished yet; only kept
	// once the job is submitted.
	unfinished int
	ctl        *attemptCtl
	waiters    []chan *Job
	finishGen  int
}

type groupState struct {
	g       *model.Group
	live    map[string]struct{} // unfinished members
	waiters []chan *Group
	gen     int
	// liveProgress is the sum of the unfinished members' progress, kept
	// as it changes so that a group's progress costs O(1), not a scan of
	// its members on every event.
	liveProgress float64
}

func (gs *groupState) addLive(js *jobState) {
	if _, ok := gs.live[js.job.ID]; !ok {
		gs.live[js.job.ID] = struct{}{}
		gs.liveProgress += js.job.Progress.Fraction
	}
}

func (gs *groupState) removeLive(js *jobState) {
	if _, ok := gs.live[js.job.ID]; ok {
		delete(gs.live, js.job.ID)
		gs.liveProgress -= js.job.Progress.Fraction
	}
}

// setProgress changes a job's progress and its group's sum.
func (e *engine) setProgress(js *jobState, p model.Progress) {
	if gs := e.groups[js.job.Group]; gs != nil {
		if _, ok := gs.live[js.job.ID]; ok {
			gs.liveProgress += p.Fraction - js.job.Progress.Fraction
		}
	}
	js.job.Progress = p
}

// call is an API operation run on the engine goroutine. fn must validate
// before it changes anything: an error means nothing was changed. A nil
// error is delivered when the round's batch is durable.
type call struct {
	fn   func(e *engine) error
	done chan error
}

type attemptResult struct {
	id      string
	attempt int
	outcome runner.Outcome
}

type progressUpdate struct {
	id      string
	attempt int
	p       Progress
	log     *LogRecord // set: a log record, not progress
	at      time.Time
}

// inbox carries messages from store callbacks, which run on the store's
// writer goroutine and must never block on the engine (the engine may be
// blocked handing that writer a batch).
type inbox struct {
	mu     sync.Mutex
	msgs   []func(e *engine)
	notify chan struct{}
}

func (b *inbox) post(fn func(e *engine)) {
	b.mu.Lock()
	b.msgs = append(b.msgs, fn)
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

func (b *inbox) take() []func(e *engine) {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.msgs
	b.msgs = nil
	return m
}

func newEngine(cfg *Config, st jobStore, pm *runner.Manager, logs *joblog.Dir) *engine {
	e := &engine{
		cfg:         cfg,
		store:       st,
		plugins:     pm,
		logs:        logs,
		hub:         newHub(cfg.MaxWatchers),
		clock:       cfg.Clock,
		log:         cfg.Logger,
		calls:       make(chan call, 256),
		results:     make(chan attemptResult, 64),
		updates:     make(chan progressUpdate, 1024),
		inbox:       inbox{notify: make(chan struct{}, 1)},
		quit:        make(chan struct{}),
		stopped:     make(chan struct{}),
		jobs:        map[string]*jobState{},
		groups:      map[string]*groupState{},
		dependents:  map[string]map[string]struct{}{},
		keys:        map[string]string{},
		queue:       queue.New(),
		limitUse:    map[string]int{},
		batch:       store.NewBatch(),
		dirtyJobs:   map[string]*jobState{},
		dirtyGroups: map[string]*groupState{},
		schedules:   map[string]*scheduleState{},
		rnd:         rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x6261746368)),
	}
	e.timer = e.clock.NewTimer(time.Hour)
	e.timer.Stop()
	return e
}

// maxRound bounds how many messages one round handles before committing,
// so that a flood of submits still gets replies at a steady pace.
const maxRound = 512

func (e *engine) run() {
	defer close(e.stopped)
	tick := time.NewTicker(e.cfg.PollInterval)
	defer tick.Stop()
	for {
		select {
		case c := <-e.calls:
			e.handleCall(c)
		case r := <-e.results:
			e.onAttemptDone(r)
		case u := <-e.updates:
			e.onProgress(u)
		case <-e.inbox.notify:
			e.drainInbox()
		case <-e.timer.C():
			e.timerAt = time.Time{}
		case <-tick.C:
		case <-e.quit:
			e.flush()
			return
		}
		e.drainRound()
		// Settle finished jobs first: the dependents they release are
		// dispatched in this round, not after the next commit.
		e.resolveCascade()
		e.fireDue()
		e.dispatch()
		e.flush()
	}
}

// drainRound handles whatever else is already waiting, up to maxRound
// messages, so that they share one commit.
func (e *engine) drainRound() {
	for range maxRound {
		select {
		case c := <-e.calls:
			e.handleCall(c)
		case r := <-e.results:
			e.onAttemptDone(r)
		case u := <-e.updates:
			e.onProgress(u)
		case <-e.inbox.notify:
			e.drainInbox()
		default:
			return
		}
	}
}

func (e *engine) handleCall(c call) {
	if e.failed != nil {
		c.done <- e.failed
		return
	}
	if err := c.fn(e); err != nil {
		c.done <- err
		return
	}
	e.afterCommit(func(err error) { c.done <- err })
}

func (e *engine) drainInbox() {
	for _, fn := range e.inbox.take() {
		fn(e)
	}
}

// afterCommit runs fn (on the store's writer goroutine) once this round's
// batch is durable. fn must not block.
func (e *engine) afterCommit(fn func(err error)) {
	e.batch.OnCommit(fn)
	e.batchUsed = true
}

// markJob schedules j to be written with this round's batch.
func (e *engine) markJob(js *jobState) { e.dirtyJobs[js.job.ID] = js }

func (e *engine) markGroup(gs *groupState) { e.dirtyGroups[gs.g.ID] = gs }

// flush hands this round's changes to the store. Jobs are encoded once per
// round however many times they changed; events are published after the
// commit, in order.
func (e *engine) flush() {
	e.resolveCascade()
	for id, js := range e.dirtyJobs {
		e.batch.PutJob(js.job)
		delete(e.dirtyJobs, id)
		e.batchUsed = true
	}
	for id, gs := range e.dirtyGroups {
		e.flushGroup(gs)
		delete(e.dirtyGroups, id)
		e.batchUsed = true
	}
	if len(e.events) > 0 {
		evs := e.events
		e.events = nil
		e.afterCommit(func(err error) {
			if err == nil {
				e.hub.publish(evs...)
			}
		})
	}
	if !e.batchUsed {
		return
	}
	e.afterCommit(func(err error) {
		if err != nil {
			e.inbox.post(func(e *engine) { e.fail(err) })
		}
	})
	e.store.Submit(e.batch)
	e.batch = store.NewBatch()
	e.batchUsed = false
}

// fail stops the engine from changing anything after a failed commit: the
// memory state is ahead of the disk and cannot be trusted.
func (e *engine) fail(err error) {
	if e.failed != nil {
		return
	}
	e.failed = &kindError{ErrFailed, "host failed: the store could not commit (" + err.Error() + "); reopen the host"}
	e.log.Error("store commit failed; the host refuses further changes", "error", err)
	for _, js := range e.jobs {
		if js.ctl != nil {
			js.ctl.cancel(runner.ErrInterrupted)
		}
	}
}

// armTimer wakes the loop when the earliest delayed job becomes due, or
// the earliest schedule fires.
func (e *engine) armTimer() {
	// A time already past is not armed: whatever is due and could run
	// has run in this round, and what could not (no free worker, dispatch
	// paused) is retried by the event that frees it. Arming it would spin,
	// and it must not hide the next schedule firing either.
	now := e.clock.Now()
	due, ok := e.queue.NextDue()
	if ok && !due.After(now) {
		ok = false
	}
	if !e.nextFire.IsZero() && (!ok || e.nextFire.Before(due)) {
		due, ok = e.nextFire, true
	}
	if !ok || !due.After(now) || (!e.timerAt.IsZero() && e.timerAt.Equal(due)) {
		return
	}
	e.timer.Stop()
	e.timerAt = due
	e.timer.Reset(due.Sub(now))
}

var timeZero time.Time
