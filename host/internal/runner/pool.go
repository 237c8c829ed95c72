package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/batchhost/batchhost/host/internal/errkind"
)

// The process pool of each plugin: warm processes waiting for an attempt
// (the last is the warmest), attempts waiting for a process, and launches
// under way. A launched process goes to the attempt that has waited
// longest, else to the pool; an attempt that finds the pool empty waits
// for a launch, and starts one only if those under way are already
// promised to earlier attempts. So a prewarm and the first attempts share
// launches instead of each starting its own.

// takeIdleLocked returns a warm process of pl, or nil. Idle processes
// found dead are dropped (their reader, or the next kill, cleans up).
func (m *Manager) takeIdleLocked(pl *plugin) *proc {
	for n := len(pl.idle); n > 0; n = len(pl.idle) {
		p := pl.idle[n-1]
		pl.idle = pl.idle[:n-1]
		switch p.takeFromPool() {
		case poolReady:
			return p
		case poolExited:
			if p.version == protocolV1 {
				// A version 2 process's death is counted by its reader.
				m.stats.crashed(pl.name, exitKind(p.cmd.ProcessState.String()))
			}
			m.removeProcLocked(p)
			m.bg.Add(1)
			go func() {
				defer m.bg.Done()
				p.kill()
			}()
		}
	}
	return nil
}

// launchForWaitersLocked starts enough launches that every waiting attempt
// has one.
func (m *Manager) launchForWaitersLocked(pl *plugin) {
	for pl.launching < len(pl.waiting) {
		m.launchLocked(pl, nil)
	}
}

// launchLocked starts a launch of one process of pl. Its error, or nil,
// goes to result if that is not nil.
func (m *Manager) launchLocked(pl *plugin, result chan<- error) {
	pl.launching++
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		p, err := launch(&m.cfg, m.contain, pl.path, pl.memLimit)
		err = m.launched(pl, p, err)
		if result != nil {
			result <- err
		}
	}()
}

// launched places the outcome of a launch: the process goes to the attempt
// that has waited longest, else to the pool. A failed launch fails the
// oldest waiting attempt that no launch still under way will serve.
func (m *Manager) launched(pl *plugin, p *proc, err error) error {
	m.mu.Lock()
	pl.launching--
	if m.closed {
		m.mu.Unlock()
		if p != nil {
			p.kill()
		}
		return ErrClosed
	}
	var r *Run
	if err != nil {
		m.stats.crashed(pl.name, CrashStart)
		if len(pl.waiting) > pl.launching {
			r = pl.waiting[0]
			pl.waiting = pl.waiting[1:]
		}
		m.mu.Unlock()
		if r != nil {
			r.startFailed(err)
		}
		return err
	}
	if pl.retired {
		// Launched for a generation a reload replaced meanwhile: its
		// attempts went to the new one.
		m.mu.Unlock()
		p.stop(m.cfg.KillGrace)
		return nil
	}
	m.addProcLocked(pl, p)
	if len(pl.waiting) > 0 {
		r = pl.waiting[0]
		pl.waiting = pl.waiting[1:]
	} else {
		m.idleLocked(pl, p)
	}
	m.mu.Unlock()
	if r != nil {
		r.attach(p)
	}
	return nil
}

// requeue puts r, whose process died before the attempt reached it, first
// in line for the next process.
func (m *Manager) requeue(r *Run) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		r.startFailed(ErrClosed)
		return
	}
	if r.pl.retired {
		// A reload replaced the plugin meanwhile: the attempt goes to the
		// new generation, if it still offers the task.
		nw := m.plugins[r.pl.name]
		if _, ok := m.tasks[r.a.Task]; !ok || nw == nil {
			m.mu.Unlock()
			r.finish(nil, &AttemptError{Kind: errkind.UnknownTask, Message: m.unknownTask(r.a.Task).Error()})
			return
		}
		r.pl = nw
	}
	r.pl.waiting = slices.Insert(r.pl.waiting, 0, r)
	m.launchForWaitersLocked(r.pl)
	m.mu.Unlock()
}

// unwait takes r out of its plugin's waiting attempts; false if it is not
// there: it got a process meanwhile, or Start has not placed it yet (a
// ctx already done cancels from a goroutine of its own, which may get
// here first; Start then finds the cause when the attempt gets its
// process).
func (m *Manager) unwait(r *Run) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.pl == nil {
		return false
	}
	i := slices.Index(r.pl.waiting, r)
	if i < 0 {
		return false
	}
	r.pl.waiting = slices.Delete(r.pl.waiting, i, i+1)
	return true
}

// addProcLocked records a live process of pl, and starts the reader of its
// attempt channel.
func (m *Manager) addProcLocked(pl *plugin, p *proc) {
	p.pl = pl
	m.procs[p] = struct{}{}
	pl.live++
	m.stats.started(pl.name)
	if p.version == protocolV2 {
		m.bg.Add(1)
		go m.readAttempts(p)
	}
}

func (m *Manager) removeProcLocked(p *proc) {
	if _, ok := m.procs[p]; ok {
		delete(m.procs, p)
		p.pl.live--
	}
}

// release returns a process to its pool after an attempt, or to the
// attempt that has waited longest for one. A fresh-process plugin's
// process is stopped instead, in the background.
func (m *Manager) release(pl *plugin, p *proc) {
	if !p.endAttempt() {
		m.log.Warn("a plugin's processes kept forking after its attempt ended; killing the plugin", "plugin", pl.name, "pid", p.pid)
		m.discard(p)
		return
	}
	m.mu.Lock()
	if m.closed || pl.fresh || pl.retired {
		// A retired plugin's process has finished its last attempt.
		m.removeProcLocked(p)
		if !m.closed {
			m.bg.Add(1)
			m.mu.Unlock()
			go func() {
				defer m.bg.Done()
				p.stop(m.cfg.KillGrace)
			}()
			return
		}
		m.mu.Unlock()
		p.stop(m.cfg.KillGrace)
		return
	}
	if len(pl.waiting) > 0 {
		r := pl.waiting[0]
		pl.waiting = pl.waiting[1:]
		m.mu.Unlock()
		r.attach(p)
		return
	}
	m.idleLocked(pl, p)
	m.mu.Unlock()
}

// idleLocked puts p in pl's pool and arms its idle timer.
func (m *Manager) idleLocked(pl *plugin, p *proc) {
	pl.idle = append(pl.idle, p)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle == nil {
		p.idle = time.AfterFunc(m.cfg.IdleTimeout, func() { m.expire(pl, p) })
	} else {
		p.idle.Reset(m.cfg.IdleTimeout)
	}
}

// expire stops a process that stayed idle for IdleTimeout.
func (m *Manager) expire(pl *plugin, p *proc) {
	m.mu.Lock()
	i := slices.Index(pl.idle, p)
	if i < 0 {
		m.mu.Unlock()
		return // taken for an attempt meanwhile
	}
	pl.idle = slices.Delete(pl.idle, i, i+1)
	m.removeProcLocked(p)
	// Counted under the lock while not closed, so that Close, which sets
	// closed under the lock before it waits, waits for this stop too.
	m.bg.Add(1)
	m.mu.Unlock()
	defer m.bg.Done()
	p.stop(m.cfg.KillGrace)
}

// discard kills a process that must not be reused (it crashed, hung,
// ignored a cancel or died while idle).
func (m *Manager) discard(p *proc) {
	m.mu.Lock()
	m.removeProcLocked(p)
	if p.pl != nil {
		if i := slices.Index(p.pl.idle, p); i >= 0 {
			p.pl.idle = slices.Delete(p.pl.idle, i, i+1)
		}
	}
	m.mu.Unlock()
	p.kill()
}

type poolState int

const (
	poolReady   poolState = iota // usable
	poolStopped                  // being stopped by someone else
	poolExited                   // died while idle; the caller cleans up
)

// takeFromPool stops the idle timer and says whether the process can take
// an attempt.
func (p *proc) takeFromPool() poolState {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return poolStopped
	}
	if p.idle != nil {
		p.idle.Stop()
	}
	if p.client.Exited() {
		return poolExited
	}
	return poolReady
}

// Prewarm launches processes until each plugin named in want has at least
// that many (warm, busy or being launched), so that the first attempts do
// not wait for a launch; attempts started meanwhile take these launches
// rather than starting their own. It waits for its launches, or for ctx
// (they then go on in the background), and returns their errors. Warm
// processes are stopped after IdleTimeout like any other. Counts above
// what the host runs at once (its worker and per-plugin limits) only cost
// memory.
func (m *Manager) Prewarm(ctx context.Context, want map[string]int) error {
	var errs []error
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	launches := map[*plugin]int{}
	total := 0
	for _, name := range slices.Sorted(maps.Keys(want)) {
		pl := m.plugins[name]
		if pl == nil {
			errs = append(errs, fmt.Errorf("prewarm: no plugin %q is loaded", name))
			continue
		}
		if n := want[name] - pl.live - pl.launching; n > 0 {
			launches[pl] = n
			total += n
		}
	}
	// Buffered for every launch, so that none waits on a caller that
	// stopped waiting.
	results := make(chan error, total)
	for pl, n := range launches {
		for range n {
			m.launchLocked(pl, results)
		}
	}
	m.mu.Unlock()
	for range total {
		select {
		case err := <-results:
			if err != nil {
				errs = append(errs, err)
			}
		case <-ctx.Done():
			return errors.Join(append(errs, ctx.Err())...)
		}
	}
	return errors.Join(errs...)
}
