package runner

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/batchhost/batchhost/host/internal/errkind"
)

// Reload: the plugin dir is scanned again while attempts run. A plugin
// whose file changed gets a new generation (a *plugin of its own); the old
// one is retired: its idle processes stop at once, its running ones finish
// their attempts and then stop, and it launches no more. Attempts still
// waiting for a process move to the new generation (or fail as
// unknown_task if it no longer offers their task). New attempts start on
// the new generation only.

// fileID identifies an executable's content cheaply: a rebuilt binary,
// written in place or renamed over the old one, has another.
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

func fileIDOf(info os.FileInfo) fileID {
	id := fileID{size: info.Size(), mtime: info.ModTime().UnixNano()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino, id.ctime = st.Dev, st.Ino, st.Ctim.Nano()
	}
	return id
}

// PluginInfo describes a loaded plugin.
type PluginInfo struct {
	Name, Version, Path string
	Tasks               []string // "<plugin>.<task>", in the plugin's order
	// Processes counts the plugin's live processes, idle or running an
	// attempt; Retiring those of generations a reload replaced, which
	// finish their attempts and then stop.
	Processes, Retiring int
}

// PluginChange is a plugin a reload replaced: as it was and as it is.
type PluginChange struct{ Old, New PluginInfo }

// ReloadReport says what a Reload changed. Each list is sorted by name.
type ReloadReport struct {
	Added, Removed []PluginInfo
	Changed        []PluginChange
	Unchanged      []string
	// Problems are the problems this scan found; Problems reports them
	// from now on, instead of the earlier ones.
	Problems []error
}

// Reload scans the plugin dir again, as Open did, and makes what it finds
// the loaded plugins. A file unchanged since it was loaded (same inode,
// size and times) keeps its plugin and processes without a launch; a new
// or changed file is launched and described. Attempts started from now on
// run on the new generation of a changed plugin; those running on the old
// one finish there, and its processes stop when they are done. Attempts
// waiting for a process of a changed plugin move to the new generation; a
// task a reload took away fails as unknown_task when an attempt of it
// would start, with a message saying so. A plugin that no longer loads
// counts as removed (and is one of the Problems). Only an unreadable plugin
// dir, ctx or a closed manager is an error: nothing changes then. Reloads
// run one at a time.
func (m *Manager) Reload(ctx context.Context) (ReloadReport, error) {
	m.reloading.Lock()
	defer m.reloading.Unlock()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ReloadReport{}, ErrClosed
	}
	m.bg.Add(1) // Close waits for this reload's launches
	defer m.bg.Done()
	loaded := map[string]*plugin{}
	for _, pl := range m.plugins {
		loaded[pl.path] = pl
	}
	m.mu.Unlock()

	cands, problems, err := m.scan(loaded)
	if err != nil {
		return ReloadReport{}, err
	}
	l := m.build(cands, problems)
	if err := ctx.Err(); err != nil {
		for _, p := range l.warm {
			m.stopBackground(p)
		}
		return ReloadReport{}, fmt.Errorf("plugin reload: %w", err)
	}

	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		for _, p := range l.warm {
			m.stopBackground(p)
		}
		return ReloadReport{}, ErrClosed
	}
	rep := ReloadReport{Problems: slices.Clone(l.problems)}
	at := time.Now().UTC().Format(time.RFC3339)
	var retire []*plugin
	for _, name := range slices.Sorted(maps.Keys(m.plugins)) {
		old, nw := m.plugins[name], l.plugins[name]
		switch {
		case nw == nil:
			rep.Removed = append(rep.Removed, m.infoLocked(old))
			retire = append(retire, old)
		case nw == old:
			rep.Unchanged = append(rep.Unchanged, name)
		default:
			rep.Changed = append(rep.Changed, PluginChange{Old: m.infoLocked(old)})
			retire = append(retire, old)
		}
	}
	for task := range m.tasks {
		if _, ok := l.tasks[task]; ok {
			continue
		}
		name, _, _ := strings.Cut(task, ".")
		if nw := l.plugins[name]; nw != nil {
			m.gone[task] = fmt.Sprintf("plugin %s %s, loaded by the reload of %s from %s, no longer offers it", name, nw.version, at, nw.path)
		} else {
			m.gone[task] = fmt.Sprintf("the reload of %s found no plugin %s in %s", at, name, m.cfg.Dir)
		}
	}
	for task := range l.tasks {
		delete(m.gone, task)
	}
	m.plugins, m.tasks, m.problems = l.plugins, l.tasks, l.problems
	for pl, p := range l.warm {
		m.addProcLocked(pl, p)
		m.idleLocked(pl, p)
	}
	var stop []*proc
	var orphans []*Run
	for _, old := range retire {
		s, o := m.retireLocked(old)
		stop, orphans = append(stop, s...), append(orphans, o...)
	}
	// The attempts that moved take the new builds' warm processes first.
	type handover struct {
		r *Run
		p *proc
	}
	var handovers []handover
	for _, pl := range l.plugins {
		for len(pl.waiting) > 0 {
			p := m.takeIdleLocked(pl)
			if p == nil {
				break
			}
			handovers = append(handovers, handover{pl.waiting[0], p})
			pl.waiting = pl.waiting[1:]
		}
		m.launchForWaitersLocked(pl)
	}
	for i := range rep.Changed {
		rep.Changed[i].New = m.infoLocked(m.plugins[rep.Changed[i].Old.Name])
	}
	for _, name := range slices.Sorted(maps.Keys(l.plugins)) {
		if !slices.ContainsFunc(rep.Changed, func(c PluginChange) bool { return c.Old.Name == name }) && !slices.Contains(rep.Unchanged, name) {
			rep.Added = append(rep.Added, m.infoLocked(l.plugins[name]))
		}
	}
	m.mu.Unlock()

	for _, h := range handovers {
		h.r.attach(h.p)
	}
	for _, p := range stop {
		m.stopBackground(p)
	}
	for _, r := range orphans {
		r.finish(nil, &AttemptError{Kind: errkind.UnknownTask, Message: m.unknownTask(r.a.Task).Error()})
	}
	for _, pl := range rep.Added {
		m.log.Info("plugin loaded", "plugin", pl.Name, "version", pl.Version, "tasks", len(pl.Tasks), "path", pl.Path)
	}
	for _, c := range rep.Changed {
		m.log.Info("plugin reloaded: new attempts run on the new build, running ones finish on the old", "plugin", c.New.Name,
			"old_version", c.Old.Version, "version", c.New.Version, "path", c.New.Path, "retiring", c.New.Retiring)
	}
	for _, pl := range rep.Removed {
		m.log.Info("plugin removed: running attempts finish, queued ones fail as unknown_task", "plugin", pl.Name, "version", pl.Version, "path", pl.Path)
	}
	return rep, nil
}

// retireLocked retires pl: it returns its idle processes, to be stopped,
// and its waiting attempts that the plugin's new generation cannot take
// (there is none, or it lacks their task), to be failed; the others move
// to the new generation. Processes running attempts stay until those end
// (see release).
func (m *Manager) retireLocked(pl *plugin) (stop []*proc, orphans []*Run) {
	pl.retired = true
	for _, p := range pl.idle {
		m.removeProcLocked(p)
		stop = append(stop, p)
	}
	pl.idle = nil
	nw := m.plugins[pl.name]
	for _, r := range pl.waiting {
		if _, ok := m.tasks[r.a.Task]; ok && nw != nil {
			r.pl = nw
			nw.waiting = append(nw.waiting, r)
			continue
		}
		orphans = append(orphans, r)
	}
	pl.waiting = nil
	m.retired = append(m.retired, pl)
	m.pruneRetiredLocked()
	return stop, orphans
}

// pruneRetiredLocked forgets retired plugins without processes.
func (m *Manager) pruneRetiredLocked() {
	m.retired = slices.DeleteFunc(m.retired, func(pl *plugin) bool { return pl.live == 0 && pl.launching == 0 })
}

// unknownTask is Start's error for a task no loaded plugin offers, saying
// why when a reload took it away.
func (m *Manager) unknownTask(task string) error {
	m.mu.Lock()
	why, ok := m.gone[task]
	m.mu.Unlock()
	if !ok {
		why = "no loaded plugin offers it"
	}
	return fmt.Errorf("%w %q: %s (the task list shows what the loaded plugins offer)", ErrUnknownTask, task, why)
}

// infoLocked describes pl and its processes.
func (m *Manager) infoLocked(pl *plugin) PluginInfo {
	info := PluginInfo{Name: pl.name, Version: pl.version, Path: pl.path, Processes: pl.live}
	for _, t := range pl.tasks {
		info.Tasks = append(info.Tasks, t.Name)
	}
	for _, old := range m.retired {
		if old.name == pl.name && old != pl {
			info.Retiring += old.live
		}
	}
	return info
}

// Plugins lists the loaded plugins, sorted by name.
func (m *Manager) Plugins() []PluginInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneRetiredLocked()
	out := make([]PluginInfo, 0, len(m.plugins))
	for _, name := range slices.Sorted(maps.Keys(m.plugins)) {
		out = append(out, m.infoLocked(m.plugins[name]))
	}
	return out
}
