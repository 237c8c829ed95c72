package engine

import (
	"context"
	"os"
	"slices"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/cronspec"
	"github.com/batchhost/batchhost/host/internal/runner"
)

// On a shared store the engine keeps this host registered (a heartbeat
// every third of the lease) and competes for the leader's lease. The
// leader rescues the attempts of hosts whose registration expired: each
// was interrupted, and follows its retry policy, as the attempts an
// embedded host finds at Open. A host that cannot renew its registration
// for a whole lease stops its attempts and claims nothing until it can:
// by then the leader may have rescued them, and its late outcomes would
// be refused anyway (the store guards every finish by owner and attempt).
//
// Leases are kept in real time, not the engine's Clock: like attempt
// timeouts they bound real processes, and a test's fake clock must not
// expire a live host (or hide a dead one).

// DefaultLeaseTTL is how long a registration and the leader's lease last
// without renewal.
const DefaultLeaseTTL = 15 * time.Second

// HostInfo is what this host registers (Owner, Tasks, Slots and the
// times are filled in by the engine).
type HostInfo = backend.HostInfo

// membership is the state of the heartbeat loop.
type membership struct {
	info     HostInfo
	lastOK   time.Time // the last heartbeat the store took
	fenced   bool      // no heartbeat for a lease: attempts stopped, no claims
	leader   bool
	problems int // heartbeats that failed in a row
}

func (e *Engine) ttl() time.Duration {
	if e.cfg.LeaseTTL > 0 {
		return e.cfg.LeaseTTL
	}
	return DefaultLeaseTTL
}

// Join registers this host and takes part in leading, once at once and
// then every third of the lease until Close. Call it after Recover,
// before Run, on a shared store only; info names the host (Name, PID,
// Version).
func (e *Engine) Join(info HostInfo) {
	info.Owner = e.cfg.Owner
	info.Slots = e.cfg.MaxWorkers
	if info.PID == 0 {
		info.PID = os.Getpid()
	}
	info.Started = time.Now()
	e.mu.Lock()
	e.member = &membership{info: info}
	e.mu.Unlock()
	e.beat()
	e.tellers.Add(2)
	go func() {
		defer e.tellers.Done()
		e.watchRemote()
	}()
	go func() {
		defer e.tellers.Done()
		every := e.ttl() / 3
		t := time.NewTimer(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				e.beat()
				t.Reset(every)
			case <-e.quit:
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := e.store.Leave(ctx, e.cfg.Owner); err != nil {
					e.log.Warn("leaving the shared queue failed; the others will see this host expire", "error", err)
				}
				return
			}
		}
	}()
}

// beat is one heartbeat: renew the registration, then the lease, and do
// the leader's work when this host leads.
func (e *Engine) beat() {
	now := time.Now()
	ttl := e.ttl()
	ctx, cancel := context.WithTimeout(context.Background(), ttl/3)
	defer cancel()
	e.mu.Lock()
	m := e.member
	info := m.info
	e.mu.Unlock()
	info.Tasks = slices.Clone(e.runner.Tasks())
	err := e.store.Heartbeat(ctx, info, now, ttl)
	e.mu.Lock()
	if err != nil {
		m.problems++
		if m.problems == 1 {
			e.log.Warn("heartbeat to the shared queue failed", "error", err)
		}
		if !m.fenced && !m.lastOK.IsZero() && now.Sub(m.lastOK) >= ttl {
			// Our registration has expired: the leader may rescue our
			// attempts. Stop them, and claim nothing until we are back.
			m.fenced = true
			m.leader = false
			e.log.Error("cut off from the shared queue for a whole lease: stopping this host's attempts and claiming nothing until it is back", "lease", ttl)
			for _, a := range e.attempts {
				a.ctl.cancel(runner.ErrInterrupted)
			}
		}
		e.mu.Unlock()
		return
	}
	if m.fenced {
		e.log.Info("back in touch with the shared queue: claiming again")
	}
	m.lastOK, m.fenced, m.problems = now, false, 0
	e.mu.Unlock()
	e.storeUp()
	lead, err := e.store.Lead(ctx, e.cfg.Owner, now, ttl)
	if err != nil {
		e.log.Warn("renewing the leader's lease failed", "error", err)
		lead = false
	}
	e.mu.Lock()
	if lead != m.leader {
		e.log.Info("leader of the shared queue", "leading", lead)
	}
	m.leader = lead
	e.mu.Unlock()
	if lead {
		e.rescue(ctx, now)
	}
	e.reloadSchedules(ctx)
	e.Wake()
}

// rescue ends, as interrupted, the attempts of hosts whose registration
// expired.
func (e *Engine) rescue(ctx context.Context, now time.Time) {
	hosts, err := e.store.Hosts(ctx, now)
	if err != nil {
		e.log.Warn("reading the shared queue's hosts failed", "error", err)
		return
	}
	alive := append(backend.AliveOwners(hosts, now), e.cfg.Owner)
	running, err := e.store.Running(ctx, alive)
	if err != nil || len(running) == 0 {
		if err != nil {
			e.log.Warn("reading the attempts to rescue failed", "error", err)
		}
		return
	}
	fs := make([]backend.Finish, len(running))
	for i, j := range running {
		fs[i] = interrupted(j, now)
	}
	ch, err := e.store.Finish(ctx, fs)
	if err != nil {
		e.log.Warn("rescuing the attempts of hosts that are gone failed", "error", err)
		return
	}
	e.log.Info("rescued the attempts of hosts that are gone", "attempts", len(fs)-len(ch.Skipped))
	e.observe(ch)
	// Hosts long gone leave the registry (a day after they expired).
	if _, err := e.store.PruneHosts(ctx, now.Add(-24*time.Hour)); err != nil {
		e.log.Warn("pruning the shared queue's hosts failed", "error", err)
	}
}

// fencedLocked reports whether claims must wait for the shared queue to
// take this host's heartbeat again. The caller holds e.mu.
func (e *Engine) fencedLocked() bool {
	return e.member != nil && e.member.fenced
}

// reloadSchedules takes in the schedules other hosts sharing the queue
// created, changed or deleted: every host fires them (the store commits
// each fire time once), so every host must know them.
func (e *Engine) reloadSchedules(ctx context.Context) {
	all, err := e.store.Schedules(ctx)
	if err != nil {
		e.log.Warn("reading the shared queue's schedules failed", "error", err)
		return
	}
	e.sched.op.Lock()
	defer e.sched.op.Unlock()
	e.sched.mu.Lock()
	defer e.sched.mu.Unlock()
	seen := make(map[string]bool, len(all))
	for _, s := range all {
		seen[s.ID] = true
		if ss := e.sched.byID[s.ID]; ss != nil && ss.s.Spec == s.Spec && ss.s.TimeZone == s.TimeZone {
			ss.s = s
			continue
		}
		cs, err := cronspec.Parse(s.Spec, s.TimeZone)
		if err != nil {
			continue // reported at start, or by the host that made it
		}
		e.sched.byID[s.ID] = &schedState{s: s, spec: cs}
	}
	for id := range e.sched.byID {
		if !seen[id] {
			delete(e.sched.byID, id)
		}
	}
}
