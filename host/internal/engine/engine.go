package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/joblog"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/ratelimit"
	"github.com/batchhost/batchhost/host/internal/runner"
)

// Config is what the engine needs of the host's configuration.
type Config struct {
	// Owner identifies this host's claims in the store; a new one per
	// Open, so that every earlier owner of a file is known to be gone.
	Owner          string
	MaxWorkers     int
	MaxQueueSize   int
	MaxResultBytes int
	// Limits caps concurrent attempts per task or plugin name.
	Limits map[string]int
	// Rates caps how often attempts start, per task or plugin name (a
	// plugin's rate caps the sum of its tasks), with a token bucket per
	// name on this host, full at start; jobs over the rate wait queued.
	// Each rate must pass ratelimit.Rate.Check (ratelimit.Parse's do).
	// Nil means no rate limits.
	Rates map[string]ratelimit.Rate
	// Capacity, when set, is what this host's running attempts may need
	// in all (model.Job.Resources): a claim takes jobs while their needs
	// fit in what the running ones leave, by backend.Capacity's rule.
	// Nil starts jobs regardless of their needs.
	Capacity *model.Resources
	// MemoryPressure, when set with a Capacity, reports whether the
	// machine's memory is under pressure: then claims start no job that
	// needs memory (as if none were free); the others go on.
	MemoryPressure func() bool
	// Shared: other hosts use the store too. Then jobs of tasks this
	// host's plugins do not serve are left to the hosts that serve them;
	// alone, the host claims them to fail them as unknown tasks.
	Shared bool
	// LeaseTTL is how long this host's registration in a shared store,
	// and the leader's lease, last without renewal (DefaultLeaseTTL when
	// zero).
	LeaseTTL time.Duration
	// PollInterval bounds how long the engine waits without a signal
	// before it looks at the store again.
	PollInterval time.Duration
	Clock        Clock
	Logger       hclog.Logger
	Logs         *joblog.Dir
	Observer     Observer
	// Tracer makes the spans of attempts (see startAttemptSpan). Nil
	// means none.
	Tracer trace.Tracer
}

// Engine runs the queue stored in a backend.Store. Its methods are safe
// for concurrent use: API calls write to the store from the caller's
// goroutine (the store groups concurrent writes into one commit) and the
// dispatch loop claims, starts and finishes attempts.
type Engine struct {
	cfg    Config
	store  backend.Store
	runner Runner
	obs    Observer
	log    hclog.Logger
	tracer trace.Tracer

	mu       sync.Mutex
	attempts map[string]*attempt // this host's running attempts, by job id
	limitUse map[string]int
	inUse    model.Resources // the needs of the attempts in attempts
	pressed  bool            // the last claim saw memory pressure
	reserved int             // slots promised to the claim in flight
	claiming bool            // a claim is in flight
	missed   bool            // a round found free slots while a claim was in flight
	// buckets are the token buckets of Rates, made at first use.
	buckets  map[string]*ratelimit.Bucket
	running  bool
	stopping bool
	paused   bool
	failed   error
	idle     []chan struct{}
	// recording counts the outcome writes not yet durable: Stop's drain
	// waits for them as well as for the attempts.
	recording int
	// voiding counts the attempts of failed claims whose outcomes are not
	// written yet. No claim is made meanwhile: the failed claim put their
	// jobs back in the queue at the same attempt number, and a new claim
	// of one by this host would be the attempt the old outcome's guard
	// (owner and attempt) lets through.
	voiding    int
	member     *membership     // on a shared store, after Join
	claimWaits []chan struct{} // SetPaused waiting for the claim in flight
	rechecked  bool            // a short claim on a shared store was looked at again
	// On a shared store: an outage of its database (see storedown.go),
	// and whether a lost claim may have left jobs this host owns but
	// does not run; claims counts decided claims, to notice one made
	// while those are looked for.
	downSince, downLogged time.Time
	downNoSpace           bool // the outage is the embedded file's full disk
	orphans               bool
	claims                uint64
	// unrecorded counts, by job, the outcomes being written: such a job
	// is still this host's in the store though it runs here no more.
	unrecorded map[string]int
	remote     chan struct{} // on a shared store: look for requests other hosts made
	waiters    map[string][]chan *model.Job
	gwaiters   map[string][]chan *model.Group

	sched schedules

	results chan result
	updates chan update
	kick    chan struct{}
	rounds  chan chan struct{}
	quit    chan struct{}
	stopped chan struct{}
	rnd     *rand.Rand // only the loop uses it

	// lastTold is closed when the last write issued was told (under
	// toldMu); tellers counts the writes not yet told.
	toldMu   sync.Mutex
	lastTold chan struct{}
	tellers  sync.WaitGroup
}

// New makes an engine over a store and a runner. Call Recover, then Run.
func New(cfg Config, st backend.Store, r Runner) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Tracer == nil {
		cfg.Tracer = noop.NewTracerProvider().Tracer("")
	}
	return &Engine{
		cfg: cfg, store: st, runner: r, obs: cfg.Observer, log: cfg.Logger, tracer: cfg.Tracer,
		attempts:   map[string]*attempt{},
		limitUse:   map[string]int{},
		buckets:    map[string]*ratelimit.Bucket{},
		waiters:    map[string][]chan *model.Job{},
		gwaiters:   map[string][]chan *model.Group{},
		unrecorded: map[string]int{},
		results:    make(chan result, 256),
		updates:    make(chan update, 1024),
		kick:       make(chan struct{}, 1),
		remote:     make(chan struct{}, 1),
		rounds:     make(chan chan struct{}),
		quit:       make(chan struct{}),
		stopped:    make(chan struct{}),
		rnd:        rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x6261746368)),
		sched:      schedules{byID: map[string]*schedState{}},
		lastTold:   closed(),
	}
}

func closed() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// Owner is this engine's owner id in the store.
func (e *Engine) Owner() string { return e.cfg.Owner }

// Wake makes the loop look at the store again (work may be claimable).
func (e *Engine) Wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Start begins dispatching and firing schedules.
func (e *Engine) Start() {
	e.mu.Lock()
	if !e.running || e.stopping {
		e.sched.startedAt = e.cfg.Clock.Now()
	}
	e.running, e.stopping = true, false
	e.mu.Unlock()
	e.Round()
}

// Round makes the loop run one round (fire what is due, record outcomes,
// claim) and waits for it, so that a caller sees its effects: Start
// returns after the firings a downtime made due.
func (e *Engine) Round() {
	done := make(chan struct{})
	select {
	case e.rounds <- done:
	case <-e.stopped:
		return
	}
	select {
	case <-done:
	case <-e.stopped:
	}
}

// SetPaused pauses or resumes dispatch (running attempts go on).
//
// Pausing waits for a claim already in flight to be decided: once it
// returns, no attempt starts (a claim a networked store decides later
// could otherwise take a job submitted after the pause).
func (e *Engine) SetPaused(p bool) {
	e.mu.Lock()
	e.paused = p
	var wait chan struct{}
	if p && e.claiming {
		wait = make(chan struct{})
		e.claimWaits = append(e.claimWaits, wait)
	}
	e.mu.Unlock()
	e.Wake()
	if wait != nil {
		select {
		case <-wait:
		case <-e.stopped:
		}
	}
}

// Status is the engine's own state, for statistics.
type Status struct {
	Busy   int
	Paused bool
	// Throttled lists, by name, the rated tasks and plugins (Config.Rates)
	// that hold no whole token now, and when the next is due: a claim
	// took every token they had, so their queued work, if any, waits for
	// it. (The engine does not count queued work per task: a name whose
	// last token started the last of its work shows here until the next
	// token is due.)
	Throttled []Throttle
	// Capacity is Config.Capacity (nil: none), and InUse what the
	// running attempts need of it.
	Capacity *model.Resources
	InUse    model.Resources
	// MemoryPressure: the last claim saw memory pressure
	// (Config.MemoryPressure), and started no job that needs memory.
	MemoryPressure bool
}

// Status reports busy workers, whether dispatch is paused, and the rated
// names waiting for a token.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Status{Busy: len(e.attempts), Paused: e.paused, Capacity: e.cfg.Capacity, InUse: e.inUse, MemoryPressure: e.pressed}
	if len(e.buckets) > 0 {
		s.Throttled = e.throttledLocked(e.cfg.Clock.Now())
	}
	return s
}

// Stop stops dispatching and waits for running attempts until ctx ends;
// then it interrupts them and waits (bounded by grace) for them to end.
func (e *Engine) Stop(ctx context.Context, grace time.Duration) error {
	e.mu.Lock()
	e.stopping = true
	idle := make(chan struct{})
	if len(e.attempts) == 0 && e.recording == 0 {
		close(idle)
	} else {
		e.idle = append(e.idle, idle)
	}
	e.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
	}
	e.mu.Lock()
	for _, a := range e.attempts {
		a.ctl.cancel(runner.ErrInterrupted)
	}
	e.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-time.After(grace):
		return fmt.Errorf("stop: running attempts did not end after being interrupted")
	}
}

// Close ends the loop. Attempts must have ended (Stop).
func (e *Engine) Close() {
	select {
	case <-e.quit:
	default:
		close(e.quit)
	}
	<-e.stopped
	e.tellers.Wait()
}

// Done is closed when the loop has ended.
func (e *Engine) Done() <-chan struct{} { return e.stopped }

// Failed is the store failure that stopped the engine, or nil.
func (e *Engine) Failed() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.failed
}

// fail records a store failure: the engine stops starting attempts.
func (e *Engine) fail(err error) {
	if err == nil || !errors.Is(err, backend.ErrFailed) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failed == nil {
		e.failed = err
		e.log.Error("store commit failed; the host refuses further changes", "error", err)
		for _, a := range e.attempts {
			a.ctl.cancel(runner.ErrInterrupted)
		}
	}
}

// Run is the dispatch loop: it returns when Close is called.
func (e *Engine) Run() {
	defer close(e.stopped)
	tick := time.NewTicker(e.cfg.PollInterval)
	defer tick.Stop()
	timer := e.cfg.Clock.NewTimer(time.Hour)
	timer.Stop()
	var timerAt time.Time
	for {
		var rs []result
		var us []update
		var done chan struct{}
		select {
		case done = <-e.rounds:
		case r := <-e.results:
			rs = append(rs, r)
		case u := <-e.updates:
			us = append(us, u)
		case <-e.store.Changed():
			e.checkRemote()
		case <-e.kick:
		case <-timer.C():
			timerAt = time.Time{}
		case <-tick.C:
			e.checkRemote()
		case <-e.quit:
			return
		}
		if len(rs) > 0 {
			// An attempt ended: let the goroutines of others that ended
			// meanwhile, ready to run, hand in their outcomes too, so
			// that this round records and refills them together (one
			// store write and one claim for several, half as many as
			// a round per outcome in an end-to-end run of short jobs).
			// With nothing else ready it returns at once.
			runtime.Gosched()
		}
		fired := e.fireDue()
		e.step(e.drainResults(rs), e.drainUpdates(us))
		if next := e.nextWake(); !next.IsZero() && !next.Equal(timerAt) {
			timer.Stop()
			timerAt = next
			timer.Reset(max(next.Sub(e.cfg.Clock.Now()), time.Millisecond))
		}
		for _, ev := range fired {
			ev()
		}
		if done != nil {
			close(done)
		}
	}
}

// nextWake is when a delayed job becomes ready, a schedule is due, or a
// rated task or plugin gets its next token.
func (e *Engine) nextWake() time.Time {
	now := e.cfg.Clock.Now()
	next, err := e.store.NextRunAt(context.Background(), now)
	if err != nil {
		next = time.Time{}
	}
	if f := e.sched.next(); !f.IsZero() && (next.IsZero() || f.Before(next)) {
		next = f
	}
	e.mu.Lock()
	tok := e.nextTokenLocked(now)
	e.mu.Unlock()
	if !tok.IsZero() && (next.IsZero() || tok.Before(next)) {
		next = tok
	}
	return next
}

// observe tells the observer and the waiters what a write changed, and
// reaches the running attempts of this host that the write asked to stop.
func (e *Engine) observe(ch backend.Changes) {
	if len(ch.Jobs) > 0 {
		e.obs.Jobs(ch.Jobs, ch.Prev)
	}
	if len(ch.Groups) > 0 {
		e.obs.Groups(ch.Groups)
	}
	e.mu.Lock()
	for _, j := range ch.Stop {
		if a := e.attempts[j.ID]; a != nil && a.job.Attempt == j.Attempt {
			a.job.CancelRequested = true
			a.ctl.cancel(runner.ErrCanceled)
		}
	}
	for _, j := range ch.Jobs {
		if j.State.Terminal() {
			for _, w := range e.waiters[j.ID] {
				w <- j.Clone()
			}
			delete(e.waiters, j.ID)
		}
	}
	for _, g := range ch.Groups {
		if g.Done() {
			for _, w := range e.gwaiters[g.ID] {
				w <- g.Clone()
			}
			delete(e.gwaiters, g.ID)
		}
	}
	e.mu.Unlock()
}

// checkFailed refuses writes after a store failure.
func (e *Engine) checkFailed() error {
	if err := e.Failed(); err != nil {
		return err
	}
	return nil
}
