package torture

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batchhost/batchhost/host"
)

// tally counts what the load did, for the closing log.
type tally struct {
	submits, batches, batchJobs, dags atomic.Int64
	opsDone, opsRefused               atomic.Int64
}

// load drives one daemon from a few goroutines until it dies. A call
// that fails while the daemon lives is a finding (the load sends nothing
// the daemon may refuse, but for pause, resume, cancel and retry of a job
// in the wrong state); a call that fails once the daemon was killed has
// an unknown outcome and ends its goroutine.
type load struct {
	runID  string // taskEnv's value in exec.run jobs
	d      *daemon
	led    *ledger
	tally  *tally
	errorf func(format string, args ...any)
	ctx    context.Context
	// batching gets a value, when the test listens, as a SubmitMany is
	// sent: a batch call takes little of the load's time, so the test
	// times some kills by it.
	batching chan struct{}
}

// run starts the goroutines; stop them with the ctx given to load, after
// the kill, and wait on the WaitGroup.
func (l *load) run(seed uint64, wg *sync.WaitGroup) {
	workers := []func(*rand.Rand){l.singles, l.quick, l.batches, l.structures, l.structures, l.ops}
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w(rand.New(rand.NewPCG(seed, uint64(i))))
		}()
	}
}

// alive reports whether the goroutine should go on.
func (l *load) alive() bool { return l.ctx.Err() == nil && !l.d.killed.Load() }

// failed handles a call's error: it reports whether the goroutine must
// stop, and reports an error the daemon gave while alive.
func (l *load) failed(what string, err error) bool {
	if err == nil {
		return false
	}
	if !l.alive() {
		return true // in flight at the kill: outcome unknown
	}
	l.errorf("daemon %d, alive: %s: %v", l.d.n, what, err)
	return true
}

// submit sends specs in one Submit (one spec, !batch) or SubmitMany, and
// records the outcome. It returns the ids, or nil when the goroutine must
// stop.
func (l *load) submit(specs []host.JobSpec, batch bool) []string {
	jobs := l.led.send(specs...)
	var ids []string
	var err error
	if batch {
		select {
		case l.batching <- struct{}{}:
		default:
		}
		ids, err = l.d.c.SubmitMany(l.ctx, l.led.specs(jobs))
	} else {
		var id string
		id, err = l.d.c.Submit(l.ctx, jobs[0].spec)
		ids = []string{id}
	}
	if err != nil {
		if !l.alive() {
			l.led.unknown(jobs, batch)
			return nil
		}
		l.errorf("daemon %d, alive: submit %d jobs (batch %v): %v", l.d.n, len(jobs), batch, err)
		return nil
	}
	if err := l.led.ack(jobs, ids); err != nil {
		l.errorf("daemon %d: %v", l.d.n, err)
		return nil
	}
	if batch {
		l.tally.batches.Add(1)
		l.tally.batchJobs.Add(int64(len(ids)))
	} else {
		l.tally.submits.Add(1)
	}
	return ids
}

// wait waits a while for a job to finish, to keep the load near what the
// daemon can run; a job that takes longer (paused, backing off) is left.
func (l *load) wait(id string) bool {
	ctx, cancel := context.WithTimeout(l.ctx, 2*time.Second)
	defer cancel()
	_, err := l.d.c.Wait(ctx, id)
	if errors.Is(err, context.DeadlineExceeded) && l.alive() {
		return true
	}
	return !l.failed("wait "+id, err)
}

var quickBackoff = &host.Backoff{Initial: 20 * time.Millisecond, Multiplier: 2, Max: 200 * time.Millisecond}

// randomJob is a job of the chaos plugin (mostly quick successes, some
// sleeps, retried failures, plugin crashes and permanent failures) or an
// exec.run of a process that takes a while.
func (l *load) randomJob(r *rand.Rand) host.JobSpec {
	s := host.JobSpec{Priority: host.Priority(r.IntN(4) - 1), MaxAttempts: 4, Backoff: quickBackoff}
	switch n := r.IntN(100); {
	case n < 4:
		s.Task, s.Args = "exec.run", map[string]any{"argv": []string{self},
			"env": map[string]string{helperEnv: strconv.Itoa(50 + r.IntN(800)), taskEnv: l.runID}}
	case n < 35:
		s.Task = "chaos.noop"
	case n < 55:
		s.Task, s.Args = "chaos.echo", map[string]int{"n": r.IntN(1000)}
	case n < 80:
		s.Task, s.Args = "chaos.sleep", map[string]int{"ms": 5 + r.IntN(120)}
	case n < 88:
		s.Task, s.Args = "chaos.fail", map[string]any{"times": 1}
	case n < 93:
		s.Task, s.Args = "chaos.fail", map[string]any{"times": 1, "crash": true}
	case n < 98:
		s.Task, s.Args = "chaos.fail", map[string]any{"times": 99, "permanent": true}
	default:
		s.Task, s.Args = "chaos.progress", map[string]int{"steps": 3, "ms": 15}
	}
	return s
}

func failing() host.JobSpec {
	return host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 99, "permanent": true}, Backoff: quickBackoff}
}

// singles submits one job at a time.
func (l *load) singles(r *rand.Rand) {
	for l.alive() {
		ids := l.submit([]host.JobSpec{l.randomJob(r)}, false)
		if ids == nil {
			return
		}
		if r.IntN(6) == 0 && !l.wait(ids[0]) {
			return
		}
	}
}

// quick submits one quick job at a time and never waits: the other
// submitters spend much of their time waiting, and some submit must be in
// flight at most kills.
func (l *load) quick(r *rand.Rand) {
	for l.alive() {
		s := host.JobSpec{Task: "chaos.noop", Priority: host.Priority(r.IntN(4) - 1), Backoff: quickBackoff}
		if r.IntN(5) == 0 {
			s.Task, s.Args = "chaos.fail", map[string]any{"times": 1}
		}
		if l.submit([]host.JobSpec{s}, false) == nil {
			return
		}
	}
}

// batches submits 2 to 25 jobs in one commit, and waits for one batch
// in three.
func (l *load) batches(r *rand.Rand) {
	for l.alive() {
		specs := make([]host.JobSpec, 2+r.IntN(24))
		for i := range specs {
			specs[i] = l.randomJob(r)
		}
		ids := l.submit(specs, true)
		if ids == nil || r.IntN(3) == 0 && !l.wait(ids[len(ids)-1]) {
			return
		}
	}
}

// structures makes groups (sequential or not, cancel-on-failure or not,
// members added one by one or in one batch) and DAGs whose root may fail,
// with cancel and ignore edges.
func (l *load) structures(r *rand.Rand) {
	for l.alive() {
		ok := false
		if r.IntN(2) == 0 {
			ok = l.group(r)
		} else {
			ok = l.dag(r)
		}
		if !ok {
			return
		}
	}
}

func (l *load) group(r *rand.Rand) bool {
	g := l.led.newGroup(host.GroupSpec{Sequential: r.IntN(2) == 0, CancelOnFailure: r.IntN(2) == 0})
	id, err := l.d.c.CreateGroup(l.ctx, g.spec)
	l.led.groupCreated(g, id, err)
	if l.failed("create group", err) {
		return false
	}
	specs := make([]host.JobSpec, 2+r.IntN(5))
	for i := range specs {
		specs[i] = l.randomJob(r)
		if g.spec.CancelOnFailure && r.IntN(3) == 0 && i == len(specs)/2 {
			specs[i] = failing()
		}
		specs[i].Group = id
	}
	if r.IntN(2) == 0 {
		if l.submit(specs, true) == nil {
			return false
		}
	} else {
		for _, s := range specs {
			if l.submit([]host.JobSpec{s}, false) == nil {
				return false
			}
		}
	}
	if r.IntN(2) == 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(l.ctx, 3*time.Second)
	defer cancel()
	_, err = l.d.c.WaitGroup(ctx, id)
	if errors.Is(err, context.DeadlineExceeded) && l.alive() {
		return true
	}
	return !l.failed("wait group "+id, err)
}

// dag is A; B after A (cancel); C after A (ignore); D after B (cancel)
// and C (ignore).
func (l *load) dag(r *rand.Rand) bool {
	var a host.JobSpec
	switch r.IntN(4) {
	case 0:
		a = failing()
	case 1:
		a = host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 1}, Backoff: quickBackoff}
	case 2:
		a = host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 30}}
	default:
		a = host.JobSpec{Task: "chaos.noop"}
	}
	ids := l.submit([]host.JobSpec{a}, false)
	if ids == nil {
		return false
	}
	aID := ids[0]
	b := l.randomJob(r)
	b.DependsOn = []host.Dep{{Job: aID, Policy: host.DepCancel}}
	c := l.randomJob(r)
	c.DependsOn = []host.Dep{{Job: aID, Policy: host.DepIgnore}}
	var bc []string
	if r.IntN(2) == 0 {
		if bc = l.submit([]host.JobSpec{b, c}, true); bc == nil {
			return false
		}
	} else {
		for _, s := range []host.JobSpec{b, c} {
			ids := l.submit([]host.JobSpec{s}, false)
			if ids == nil {
				return false
			}
			bc = append(bc, ids[0])
		}
	}
	d := l.randomJob(r)
	d.DependsOn = []host.Dep{{Job: bc[0], Policy: host.DepCancel}, {Job: bc[1], Policy: host.DepIgnore}}
	ids = l.submit([]host.JobSpec{d}, false)
	if ids == nil {
		return false
	}
	l.tally.dags.Add(1)
	return r.IntN(2) == 0 || l.wait(ids[0])
}

// ops pauses, resumes, cancels and retries random jobs: half of the time
// one the op fits (a running job to pause or cancel, a paused one to
// resume, a failed or canceled one to retry), half of the time any recent
// one. A refusal for the job's state is expected (the job moved on); any
// other error is not.
func (l *load) ops(r *rand.Rand) {
	// Paced by a ticker: without one, this goroutine alone would keep the
	// daemon's commits busy.
	tick := time.NewTicker(15 * time.Millisecond)
	defer tick.Stop()
	for l.alive() {
		select {
		case <-l.ctx.Done():
			return
		case <-tick.C:
		}
		var op func(context.Context, string) error
		var what string
		var fits []host.State
		switch n := r.IntN(10); {
		case n < 3:
			op, what, fits = l.d.c.Pause, "pause", []host.State{host.StateRunning}
		case n < 6:
			op, what, fits = l.d.c.Resume, "resume", []host.State{host.StatePaused}
		case n < 7:
			op, what, fits = l.d.c.Cancel, "cancel", []host.State{host.StateRunning}
		default:
			op, what, fits = l.d.c.Retry, "retry", []host.State{host.StateFailed, host.StateCanceled}
		}
		id, ok := l.led.pick(r)
		if r.IntN(2) == 0 {
			jobs, _, err := l.d.c.List(l.ctx, host.ListFilter{States: fits, Limit: 8})
			if l.failed("list "+what+" targets", err) {
				return
			}
			if len(jobs) > 0 {
				id, ok = jobs[r.IntN(len(jobs))].ID, true
			}
		}
		if !ok {
			continue
		}
		err := op(l.ctx, id)
		switch {
		case err == nil:
			l.tally.opsDone.Add(1)
		case errors.Is(err, host.ErrState) && l.alive():
			l.tally.opsRefused.Add(1)
		case l.failed(fmt.Sprintf("%s %s", what, id), err):
			return
		}
	}
}
