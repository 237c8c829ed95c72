package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/batchhost/batchhost/host/internal/engine"
	"github.com/batchhost/batchhost/host/internal/joblog"
	"github.com/batchhost/batchhost/host/internal/runner"
)

// Host runs batch jobs in plugin processes and keeps them in a durable
// queue. Its methods are safe for concurrent use.
//
// It is a facade: the queue's truth is the store (behind the store port:
// the embedded bbolt file, or PostgreSQL shared with other hosts), the
// state machine is the engine, and the host turns their records into its
// public types and events.
type Host struct {
	cfg      Config
	e        *engine.Engine
	store    queueStore
	shared   bool     // the store is a database other hosts may share
	lock     *os.File // the data dir's lock, with a database
	opened   time.Time
	plugins  *runner.Manager
	runner   *engine.Plugins
	logs     *joblog.Dir
	hub      *hub
	relay    *relay // other hosts' events to this host's watchers, and back; nil on the embedded store
	tracer   trace.Tracer
	problems []error // found at Open: schedules that no longer load

	mu          sync.Mutex
	pruneCancel context.CancelFunc
	pruneDone   chan struct{}
	closed      bool
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
	q, lock, err := openStore(c)
	if err != nil {
		return nil, err
	}
	shared := c.Database != ""
	closeStore := func() {
		q.Close()
		if lock != nil {
			lock.Close()
		}
	}
	logs, err := joblog.Open(filepath.Join(c.DataDir, "logs"))
	if err != nil {
		closeStore()
		return nil, err
	}
	logs.SetMaxJobBytes(max(c.MaxLogBytes, 0))
	logs.SetMaxTotalBytes(max(c.MaxLogTotalBytes, 0), func(id string) bool { return logRemovable(q, id) })
	if s, ok := q.(joblog.Shared); ok && shared {
		logs.SetShared(s) // every host reads a job's log from the database, whichever ran it
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
		closeStore()
		return nil, err
	}
	h := &Host{cfg: c, store: q, shared: shared, lock: lock, opened: time.Now(), plugins: pm, runner: engine.NewPlugins(pm), logs: logs, hub: newHub(c.MaxWatchers),
		tracer: c.TracerProvider.Tracer(tracerName)}
	owner := newID()
	if f, ok := q.(eventFeed); ok && shared {
		h.relay = newRelay(f, owner, h.hub, c.Logger.Named("events"))
	}
	h.e = engine.New(engine.Config{
		// A new owner per Open: every attempt an earlier Open left
		// running was interrupted.
		Owner:          owner,
		MaxWorkers:     c.MaxWorkers,
		MaxQueueSize:   c.MaxQueueSize,
		MaxResultBytes: c.MaxResultBytes,
		Limits:         c.Limits,
		Rates:          c.Rates,
		Capacity:       c.engineCapacity(),
		MemoryPressure: c.enginePressure(),
		Shared:         shared,
		LeaseTTL:       c.LeaseTTL,
		PollInterval:   c.PollInterval,
		Clock:          engineClock{c.Clock},
		Logger:         c.Logger.Named("engine"),
		Logs:           logs,
		Observer:       observer{h},
		Tracer:         h.tracer,
	}, q, h.runner)
	h.e.SetRunBuilder(h.cfg.buildRun)
	ctx := context.Background()
	// On the embedded file every earlier owner is gone, and its running
	// attempts were interrupted. A shared queue's running jobs may be
	// other hosts' live attempts: there the leader rescues those of hosts
	// whose registration expired (Join).
	if !shared {
		err = h.e.Recover(ctx)
	}
	if err != nil {
		pm.Close()
		if h.relay != nil {
			h.relay.close()
		}
		closeStore()
		return nil, fmt.Errorf("recover jobs: %w", err)
	}
	for _, err := range h.e.LoadSchedules(ctx) {
		h.problems = append(h.problems, err)
		c.Logger.Error("schedule not loaded", "error", err)
	}
	if shared {
		name, _ := os.Hostname()
		h.e.Join(engine.HostInfo{Name: name, Version: c.Version})
	}
	go h.e.Run()
	return h, nil
}

// engineClock gives the engine the host's clock.
type engineClock struct{ Clock }

func (c engineClock) NewTimer(d time.Duration) engine.Timer { return c.Clock.NewTimer(d) }

// Start begins dispatching jobs and firing schedules. It returns once the
// firings a downtime made due (see Missed) are durable.
func (h *Host) Start(ctx context.Context) error {
	if err := h.check(ctx); err != nil {
		return err
	}
	h.e.Start()
	h.startPruner()
	return nil
}

// check refuses calls on a closed host, or with a context already done.
func (h *Host) check(ctx context.Context) error {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return ctx.Err()
}

// Stop stops dispatching and lets running attempts finish until ctx ends;
// then it interrupts them (their attempts are recorded interrupted and run
// again per their retry policy) and waits for their plugins to stop. The
// host stays open: Start resumes dispatching.
func (h *Host) Stop(ctx context.Context) error {
	if err := h.check(context.Background()); err != nil {
		return err
	}
	// Interrupted attempts end within the kill grace; the margin covers a
	// process that must be killed and reaped.
	return h.e.Stop(ctx, h.cfg.KillGrace+10*time.Second)
}

// Close stops the host: running attempts are interrupted at once (use Stop
// first to drain), plugin processes are stopped, and the store is closed.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		stopErr := h.e.Stop(ctx, h.cfg.KillGrace+10*time.Second)
		h.mu.Lock()
		h.closed = true
		h.mu.Unlock()
		h.stopPruner()
		h.e.Close()
		perr := h.plugins.Close()
		if h.relay != nil {
			h.relay.close() // the engine's last events go out before the store closes
		}
		serr := h.store.Close()
		if h.lock != nil {
			h.lock.Close()
		}
		h.hub.close()
		h.closeErr = errors.Join(stopErr, perr, serr)
	})
	return h.closeErr
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

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
	return append(append(h.plugins.Problems(), h.limitWarnings()...), h.problems...)
}

// limitWarnings names the limits and rates that match no loaded task or
// plugin, sorted, so that a misspelled name is not silently no limit.
func (h *Host) limitWarnings() []error {
	tasks := h.plugins.Tasks()
	known := func(name string) bool {
		for _, t := range tasks {
			if t.Name == name || t.Plugin == name {
				return true
			}
		}
		return false
	}
	var out []error
	for _, name := range sortedNames(h.cfg.Limits) {
		if !known(name) {
			out = append(out, fmt.Errorf("config: limit for %q matches no loaded task or plugin", name))
		}
	}
	for _, name := range sortedNames(h.cfg.Rates) {
		if !known(name) {
			out = append(out, fmt.Errorf("config: rate for %q matches no loaded task or plugin", name))
		}
	}
	return out
}

// PauseDispatch stops starting new attempts; running ones go on. It is not
// persisted: a restarted host dispatches.
func (h *Host) PauseDispatch(ctx context.Context) error {
	if err := h.check(ctx); err != nil {
		return err
	}
	h.e.SetPaused(true)
	return nil
}

// ResumeDispatch undoes PauseDispatch.
func (h *Host) ResumeDispatch(ctx context.Context) error {
	if err := h.check(ctx); err != nil {
		return err
	}
	h.e.SetPaused(false)
	return nil
}
