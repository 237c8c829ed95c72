package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/batchhost/batchhost/host/internal/joblog"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/runner"
	"github.com/batchhost/batchhost/host/internal/store"
)

// Host runs batch jobs in plugin processes and keeps them in a durable
// queue. Its methods are safe for concurrent use.
type Host struct {
	cfg     Config
	e       *engine
	store   jobStore
	plugins *runner.Manager
	logs    *joblog.Dir

	mu          sync.Mutex
	pruneCancel context.CancelFunc
	pruneDone   chan struct{}
	closeOnce   sync.Once
	closeErr    error
}

// dbFile is the job database's name inside the data directory.
const dbFile = "batchhost.db"

// Open opens (or creates) the data directory, loads the plugins, and
// recovers the jobs a previous host left: running attempts were
// interrupted and follow their retry policy; everything else resumes as it
// was. Jobs do not run until Start.
func Open(cfg Config) (*Host, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	st, err := store.Open(filepath.Join(c.DataDir, dbFile), store.Options{NoSync: c.NoSync, Logger: c.Logger.Named("store"), Now: c.Clock.Now})
	if err != nil {
		return nil, err
	}
	logs, err := joblog.Open(filepath.Join(c.DataDir, "logs"))
	if err != nil {
		st.Close()
		return nil, err
	}
	pm, err := runner.Open(runner.Config{
		Dir:          c.PluginDir,
		Logger:       c.Logger.Named("plugins"),
		StartTimeout: c.PluginStartTimeout,
		IdleTimeout:  c.PluginIdleTimeout,
		KillGrace:    c.KillGrace,
		MemoryLimit:  c.PluginMemoryLimit,
		MemoryLimits: c.PluginMemoryLimits,
		Env:          c.pluginEnv(),
		InsecureDir:  c.PluginDirInsecure,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	h := &Host{cfg: c, store: st, plugins: pm, logs: logs}
	h.e = newEngine(&h.cfg, st, pm, logs)
	snap, err := st.Load()
	if err == nil {
		err = h.e.recover(snap)
	}
	if err == nil {
		err = h.e.commitNow()
	}
	if err != nil {
		pm.Close()
		st.Close()
		return nil, fmt.Errorf("recover jobs: %w", err)
	}
	go h.e.run()
	return h, nil
}

// commitNow writes what the engine has changed so far and waits for it.
// Only for use before the engine goroutine runs.
func (e *engine) commitNow() error {
	done := make(chan error, 1)
	e.afterCommit(func(err error) { done <- err })
	e.flush()
	return <-done
}

// Start begins dispatching jobs and firing schedules. It returns once the
// firings a downtime made due (see Missed) are durable.
func (h *Host) Start(ctx context.Context) error {
	err := h.exec(ctx, func(e *engine) error {
		if !e.started || e.stopping {
			e.startedAt = e.clock.Now()
		}
		e.started = true
		e.stopping = false
		return nil // the reply waits for this round's commit: its catch-up firings
	})
	if err != nil {
		return err
	}
	h.startPruner()
	return nil
}

// Stop stops dispatching and lets running attempts finish until ctx ends;
// then it interrupts them (their attempts are recorded interrupted and run
// again per their retry policy) and waits for their plugins to stop. The
// host stays open: Start resumes dispatching.
func (h *Host) Stop(ctx context.Context) error {
	var idle chan struct{}
	err := h.exec(context.Background(), func(e *engine) error {
		e.stopping = true
		idle = make(chan struct{})
		if e.busy == 0 {
			close(idle)
		} else {
			e.idle = append(e.idle, idle)
		}
		return errNoWrite
	})
	if err != nil {
		return err
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
	}
	err = h.exec(context.Background(), func(e *engine) error {
		for _, js := range e.jobs {
			if js.ctl != nil {
				js.ctl.cancel(runner.ErrInterrupted)
			}
		}
		return errNoWrite
	})
	if err != nil {
		return err
	}
	// Interrupted attempts end within the kill grace; the margin covers a
	// process that must be killed and reaped.
	select {
	case <-idle:
		return nil
	case <-time.After(h.cfg.KillGrace + 10*time.Second):
		return fmt.Errorf("stop: running attempts did not end after being interrupted")
	}
}

// Close stops the host: running attempts are interrupted at once (use Stop
// first to drain), plugin processes are stopped, and the store is closed.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		stopErr := h.Stop(ctx)
		h.stopPruner()
		close(h.e.quit)
		<-h.e.stopped
		perr := h.plugins.Close()
		serr := h.store.Close()
		h.e.hub.close()
		h.closeErr = errors.Join(stopErr, perr, serr)
	})
	return h.closeErr
}

// errNoWrite tells exec that an operation changed nothing, so its reply
// need not wait for a commit.
var errNoWrite = errors.New("no write")

// exec runs fn on the engine goroutine and returns its result once any
// change it made is durable. If ctx ends first, exec returns ctx's error;
// the operation may still take effect, and fn may still be running: what
// fn writes for the caller may only be read when exec returned nil.
func (h *Host) exec(ctx context.Context, fn func(e *engine) error) error {
	select {
	case <-h.e.stopped:
		return ErrClosed
	default:
	}
	c := call{fn: fn, done: make(chan error, 1)}
	select {
	case h.e.calls <- c:
	case <-h.e.stopped:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-c.done:
		if err == errNoWrite {
			return nil
		}
		return err
	case <-h.e.stopped:
		select {
		case err := <-c.done:
			if err == errNoWrite {
				return nil
			}
			return err
		default:
			return ErrClosed
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Submit creates a job and submits it: it is queued, or waiting if it has
// unfinished dependencies. It returns once the job is durable. A spec whose
// Key matches a kept job returns that job's id and creates nothing.
func (h *Host) Submit(ctx context.Context, spec JobSpec) (string, error) {
	ids, err := h.create(ctx, []JobSpec{spec}, true)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// SubmitMany submits jobs in one durable commit: all of them or, on any
// error, none.
func (h *Host) SubmitMany(ctx context.Context, specs []JobSpec) ([]string, error) {
	return h.create(ctx, specs, true)
}

// Create records a job in state created; it does not run until
// SubmitCreated (or SubmitGroup). Created jobs can still join groups and
// gain dependencies.
func (h *Host) Create(ctx context.Context, spec JobSpec) (string, error) {
	ids, err := h.create(ctx, []JobSpec{spec}, false)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

func (h *Host) create(ctx context.Context, specs []JobSpec, submit bool) ([]string, error) {
	if len(specs) == 0 {
		return nil, invalidf("no jobs given")
	}
	now := h.cfg.Clock.Now()
	jobs := make([]*model.Job, len(specs))
	for i, s := range specs {
		j, err := h.cfg.buildJob(s, newID(), now)
		if err != nil {
			if len(specs) > 1 {
				return nil, fmt.Errorf("job %d: %w", i+1, err)
			}
			return nil, err
		}
		jobs[i] = j
	}
	var ids []string
	err := h.exec(ctx, func(e *engine) error {
		var fresh []*jobState
		var err error
		ids, fresh, err = e.prepareJobs(jobs)
		if err != nil {
			return err
		}
		if submit {
			if err := e.checkQueueRoom(fresh); err != nil {
				return err
			}
		}
		if len(fresh) == 0 {
			return nil // reply after the commits in flight: the existing job's may be one
		}
		e.recordJobs(fresh)
		if submit {
			for _, js := range fresh {
				if err := e.enqueue(js, model.EvSubmit); err != nil {
					e.log.Error("submit after validation failed", "job", js.job.ID, "error", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// SubmitCreated submits created jobs, all in one commit, or none on error.
func (h *Host) SubmitCreated(ctx context.Context, ids ...string) error {
	return h.exec(ctx, func(e *engine) error {
		if len(ids) == 0 {
			return invalidf("no job ids given")
		}
		jss := make([]*jobState, 0, len(ids))
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				return invalidf("job %s is listed twice", id)
			}
			seen[id] = true
			js, err := e.live(id)
			if err != nil {
				return err
			}
			jss = append(jss, js)
		}
		return e.submitCreated(jss)
	})
}

// AddDependencies makes a created job wait for more jobs. A dependency
// that would close a cycle is refused with a *CycleError.
func (h *Host) AddDependencies(ctx context.Context, id string, deps ...Dep) error {
	add := make([]model.Dep, len(deps))
	for i, d := range deps {
		var err error
		if add[i], err = d.resolve(); err != nil {
			return err
		}
	}
	return h.exec(ctx, func(e *engine) error {
		js, err := e.live(id)
		if err != nil {
			return err
		}
		return e.addDeps(js, add)
	})
}

// Get returns a snapshot of a job.
func (h *Host) Get(ctx context.Context, id string) (*Job, error) {
	var out *Job
	err := h.exec(ctx, func(e *engine) error {
		if js := e.jobs[id]; js != nil {
			out = toJob(js.job)
		}
		return errNoWrite
	})
	if err != nil {
		return nil, err
	}
	if out != nil {
		return out, nil
	}
	j, err := h.store.Job(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("job", id)
	}
	if err != nil {
		return nil, err
	}
	return toJob(j), nil
}

// Wait blocks until the job is finished and its final state durable, and
// returns it. It is woken by the job's end, not by polling.
func (h *Host) Wait(ctx context.Context, id string) (*Job, error) {
	ch := make(chan *Job, 1)
	tracked := false
	err := h.exec(ctx, func(e *engine) error {
		if js := e.jobs[id]; js != nil {
			js.waiters = append(js.waiters, ch)
			tracked = true
		}
		return errNoWrite
	})
	// forget drops the waiter when the caller gives up, or callers polling
	// with short timeouts would grow the job's waiter list without bound.
	// It goes through the same channel as the registration, so it is
	// handled after it.
	forget := func() {
		h.exec(context.Background(), func(e *engine) error {
			if js := e.jobs[id]; js != nil {
				js.waiters = slices.DeleteFunc(js.waiters, func(c chan *Job) bool { return c == ch })
			}
			return errNoWrite
		})
	}
	if err != nil {
		if ctx.Err() != nil {
			forget()
		}
		return nil, err
	}
	if !tracked {
		j, err := h.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if !j.Done() {
			return nil, fmt.Errorf("wait %s: job is %s but not tracked by the engine", id, j.State)
		}
		return j, nil
	}
	select {
	case j := <-ch:
		return j, nil
	case <-ctx.Done():
		forget()
		return nil, ctx.Err()
	case <-h.e.stopped:
		return nil, ErrClosed
	}
}

// Result decodes a completed job's result into v (which may be nil to only
// check). A job that did not complete returns an error wrapping
// ErrNotCompleted and describing why.
func (h *Host) Result(ctx context.Context, id string, v any) error {
	j, err := h.Get(ctx, id)
	if err != nil {
		return err
	}
	if j.State != StateCompleted {
		if j.Error != nil {
			return fmt.Errorf("job %s is %s (%s): %w", id, j.State, j.Error.Error(), ErrNotCompleted)
		}
		return fmt.Errorf("job %s is %s: %w", id, j.State, ErrNotCompleted)
	}
	if v == nil || len(j.Result) == 0 {
		return nil
	}
	if err := json.Unmarshal(j.Result, v); err != nil {
		return fmt.Errorf("decode result of %s: %w", id, err)
	}
	return nil
}

// Cancel cancels an unfinished job. A running attempt is asked to stop and
// killed after the grace period; the job becomes canceled when it has
// stopped, and is never retried automatically. Canceling a finished job
// changes nothing and returns an error wrapping ErrState.
func (h *Host) Cancel(ctx context.Context, id string) error {
	return h.jobOp(ctx, id, (*engine).cancelByUser)
}

// Pause takes a queued or waiting job out of dispatch, or suspends a
// running job's plugin process (its timeout clock stops; it keeps its
// worker slot).
func (h *Host) Pause(ctx context.Context, id string) error {
	return h.jobOp(ctx, id, (*engine).pauseJob)
}

// Resume undoes Pause: the job returns to running, or to queued or waiting
// as its dependencies now dictate.
func (h *Host) Resume(ctx context.Context, id string) error {
	return h.jobOp(ctx, id, (*engine).resumeJob)
}

// Retry runs a failed or canceled job again with a fresh attempt budget.
// Jobs that were canceled because this one failed are re-armed.
func (h *Host) Retry(ctx context.Context, id string) error {
	return h.jobOp(ctx, id, (*engine).retryJob)
}

func (h *Host) jobOp(ctx context.Context, id string, op func(*engine, *jobState) error) error {
	return h.exec(ctx, func(e *engine) error {
		js, err := e.live(id)
		if err != nil {
			return err
		}
		return op(e, js)
	})
}

// MaxListLimit is the largest page List and ListGroups serve.
const MaxListLimit = store.MaxLimit

// ListFilter selects jobs for List. Empty fields match everything.
type ListFilter struct {
	States []State
	Task   string
	Group  string
	// Priorities selects jobs of any of these priorities.
	Priorities []Priority
	// Label is "key=value" (jobs with that label and value) or "key" (jobs
	// with that label, any value).
	Label string
	// Search selects jobs whose id, task or error message contains it,
	// ignoring case. It reads every job the other filters let through, so
	// a search over a large history is as slow as a full scan.
	Search string
	// Limit is the page size; 0 means 100, at most MaxListLimit.
	Limit int
	// Before is the cursor returned by the previous page.
	Before string
}

// List returns jobs newest first, one page at a time; next is the cursor
// for the following page, "" at the end.
func (h *Host) List(ctx context.Context, f ListFilter) (jobs []*Job, next string, err error) {
	if f.Limit < 0 {
		return nil, "", invalidf("limit must not be negative")
	}
	if err := checkCursor(f.Before); err != nil {
		return nil, "", err
	}
	recs, next, err := h.store.ListJobs(store.Filter{States: f.States, Task: f.Task, Group: f.Group,
		Priorities: f.Priorities, Label: f.Label, Search: f.Search, Before: f.Before, Limit: f.Limit})
	if err != nil {
		return nil, "", fromStore(err)
	}
	jobs = make([]*Job, len(recs))
	err = h.exec(ctx, func(e *engine) error {
		// Live jobs: the engine's copy has current progress.
		for i, r := range recs {
			if js := e.jobs[r.ID]; js != nil {
				jobs[i] = toJob(js.job)
			} else {
				jobs[i] = toJob(r)
			}
		}
		return errNoWrite
	})
	if err != nil {
		return nil, "", err
	}
	return jobs, next, nil
}

// Tasks lists the tasks the loaded plugins offer, sorted by name.
func (h *Host) Tasks() []TaskInfo {
	var out []TaskInfo
	for _, t := range h.plugins.Tasks() {
		out = append(out, TaskInfo{Name: t.Name, Plugin: t.Plugin, Version: t.Version, Description: t.Description})
	}
	return out
}

// Problems lists what went wrong loading plugins (each names the file) and
// configuration warnings. The host runs without the plugins named.
func (h *Host) Problems() []error {
	return append(append(h.plugins.Problems(), h.limitWarnings()...), h.e.problems...)
}

func (h *Host) limitWarnings() []error {
	var out []error
	for name := range h.cfg.Limits {
		known := false
		for _, t := range h.plugins.Tasks() {
			if t.Name == name || t.Plugin == name {
				known = true
				break
			}
		}
		if !known {
			out = append(out, fmt.Errorf("config: limit for %q matches no loaded task or plugin", name))
		}
	}
	return out
}

// Stats returns counts by state, queue depth by priority and busy workers.
func (h *Host) Stats(ctx context.Context) (Stats, error) {
	s := Stats{QueueDepth: map[string]int{}, MaxWorkers: h.cfg.MaxWorkers}
	err := h.exec(ctx, func(e *engine) error {
		depth := e.queue.Depth()
		for _, p := range model.Priorities {
			s.QueueDepth[p.String()] = depth[p.Index()]
		}
		s.BusyWorkers = e.busy
		s.DispatchPaused = e.paused
		return errNoWrite
	})
	if err != nil {
		return Stats{}, err
	}
	s.Counts, err = h.store.Counts()
	return s, err
}

// Logs returns a job's log records, oldest first.
func (h *Host) Logs(ctx context.Context, id string) ([]LogRecord, error) {
	if _, err := h.Get(ctx, id); err != nil {
		return nil, err
	}
	recs, err := h.logs.Read(id)
	if err != nil {
		return nil, err
	}
	out := make([]LogRecord, len(recs))
	for i, r := range recs {
		out[i] = LogRecord(r)
	}
	return out, nil
}

// PauseDispatch stops starting new attempts; running ones go on. It is not
// persisted: a restarted host dispatches.
func (h *Host) PauseDispatch(ctx context.Context) error {
	return h.exec(ctx, func(e *engine) error { e.paused = true; return errNoWrite })
}

// ResumeDispatch undoes PauseDispatch.
func (h *Host) ResumeDispatch(ctx context.Context) error {
	return h.exec(ctx, func(e *engine) error { e.paused = false; return errNoWrite })
}
