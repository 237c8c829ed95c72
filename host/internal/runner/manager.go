package runner

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
)

// TaskInfo describes a task a loaded plugin offers.
type TaskInfo struct {
	Name        string // "<plugin>.<task>"
	Plugin      string
	Version     string
	Description string
	Path        string // the plugin executable
}

// plugin is a loaded plugin and its pool (see pool.go); the Manager's mu
// guards the pool.
type plugin struct {
	name, version, path string
	id                  fileID     // the executable's identity when it was described
	tasks               []TaskInfo // in the order the plugin lists them
	fresh               bool       // a new process per attempt
	memLimit            int64
	// retired: a reload replaced or removed the plugin. Its processes
	// finish the attempts they run, then stop; it launches none.
	retired   bool
	idle      []*proc // warm, ready processes; the last is the warmest
	waiting   []*Run  // attempts waiting for a process, oldest first
	launching int     // launches under way
	live      int     // processes in Manager.procs
}

// Manager owns the plugins of one host and their processes.
type Manager struct {
	cfg       Config
	log       hclog.Logger
	socketDir string
	contain   containment

	mu       sync.Mutex
	plugins  map[string]*plugin
	tasks    map[string]TaskInfo
	problems []error
	// retired are plugins a reload replaced or removed whose processes
	// still finish attempts; gone says why each task a reload took away
	// is no longer offered.
	retired []*plugin
	gone    map[string]string
	// reloading serializes Reloads.
	reloading sync.Mutex
	procs     map[*proc]struct{} // every live process, idle or busy
	closed    bool
	runs      sync.WaitGroup // attempts not finished
	stats     counters
	// bg counts the goroutines Close must wait for: launches, attempt
	// channel readers, processes being stopped. Added to under mu while
	// not closed.
	bg sync.WaitGroup
}

// Open discovers the plugins in cfg.Dir and asks each what it offers. A
// plugin that cannot be used is reported by Problems and skipped; only an
// unusable directory is an error.
func Open(cfg Config) (*Manager, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	sock, err := makeSocketDir(c.SocketDir)
	if err != nil {
		return nil, fmt.Errorf("plugin socket dir: %w", err)
	}
	c.SocketDir = sock
	contain, why := openContainment(&c)
	if why != "" {
		c.Logger.Info("plugin processes contained by "+contain.describe()+": a process that leaves the tree and clears its environment is not found", "cgroup_v2", why)
	} else {
		c.Logger.Info("plugin processes contained by " + contain.describe())
	}
	if n := contain.cleanStale(); n > 0 {
		c.Logger.Warn("killed processes that attempts of a host killed earlier left running", "processes", n)
	}
	m := &Manager{cfg: c, log: c.Logger, socketDir: sock, contain: contain, plugins: map[string]*plugin{},
		tasks: map[string]TaskInfo{}, procs: map[*proc]struct{}{}, gone: map[string]string{}}
	if err := m.discover(); err != nil {
		contain.close()
		os.RemoveAll(sock)
		return nil, err
	}
	return m, nil
}

// discover loads every batchhost-plugin-* executable of the plugin dir.
func (m *Manager) discover() error {
	cands, problems, err := m.scan(nil)
	if err != nil {
		return err
	}
	l := m.build(cands, problems)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.plugins, m.tasks, m.problems = l.plugins, l.tasks, l.problems
	for pl, p := range l.warm {
		m.addProcLocked(pl, p)
		m.idleLocked(pl, p)
	}
	for _, name := range slices.Sorted(maps.Keys(l.plugins)) {
		pl := l.plugins[name]
		m.log.Info("plugin loaded", "plugin", name, "version", pl.version, "tasks", len(pl.tasks), "path", pl.path)
	}
	return nil
}

// candidate is a plugin executable found by scan.
type candidate struct {
	path string
	id   fileID
	keep *plugin // loaded from this very file already: not launched again
	p    *proc   // the process launched to describe it
	d    *pluginpb.DescribeResponse
	err  error
}

// scan lists the batchhost-plugin-* executables of the plugin dir, in name
// order, so that which of two plugins claiming one name wins does not
// depend on the file system, with the problems of the files it cannot use.
// It launches each (concurrently: the time is the slowest plugin's, not the
// sum) and asks what it offers, except a file loaded already whose identity
// loaded says is unchanged: that keeps its plugin. Only an unreadable
// directory is an error.
func (m *Manager) scan(loaded map[string]*plugin) ([]*candidate, []error, error) {
	entries, err := os.ReadDir(m.cfg.Dir)
	if err != nil {
		return nil, nil, fmt.Errorf("plugin dir %s: %w", m.cfg.Dir, err)
	}
	var problems []error
	var cands []*candidate
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), pluginrpc.BinaryPrefix) {
			continue
		}
		path := filepath.Join(m.cfg.Dir, e.Name())
		info, err := os.Stat(path)
		switch {
		case err != nil:
			problems = append(problems, fmt.Errorf("plugin %s: %w", path, err))
			continue
		case info.IsDir():
			problems = append(problems, fmt.Errorf("plugin %s: is a directory, not an executable", path))
			continue
		case info.Mode()&0o111 == 0:
			problems = append(problems, fmt.Errorf("plugin %s: not executable (chmod +x it)", path))
			continue
		}
		if !m.cfg.InsecureDir {
			if err := checkPluginTrust(path); err != nil {
				problems = append(problems, err)
				continue
			}
		}
		c := &candidate{path: path, id: fileIDOf(info)}
		if pl := loaded[path]; pl != nil && pl.id == c.id {
			c.keep = pl
		}
		cands = append(cands, c)
	}
	var wg sync.WaitGroup
	for _, c := range cands {
		if c.keep == nil {
			wg.Go(func() { c.p, c.d, c.err = m.describe(c.path) })
		}
	}
	wg.Wait()
	if len(cands) == 0 && len(problems) == 0 {
		problems = append(problems, fmt.Errorf("plugin dir %s holds no %s* executables, so no task can run: put plugins there, or point --plugin-dir (BATCHHOST_PLUGIN_DIR) at the directory that holds them", m.cfg.Dir, pluginrpc.BinaryPrefix))
	}
	return cands, problems, nil
}

// loadout is the plugins one scan found.
type loadout struct {
	plugins  map[string]*plugin
	tasks    map[string]TaskInfo
	problems []error
	// warm are the describing processes that become their plugin's first
	// warm process; the others have been stopped.
	warm map[*plugin]*proc
}

// build turns a scan's candidates into plugins, in file order: a second
// plugin of one name, and malformed descriptions, are problems. A
// described process becomes its plugin's first warm process, unless the
// plugin wants fresh processes, or a memory limit applies that was not set
// at launch; the processes not kept are stopped in the background.
func (m *Manager) build(cands []*candidate, problems []error) *loadout {
	l := &loadout{plugins: map[string]*plugin{}, tasks: map[string]TaskInfo{}, problems: problems, warm: map[*plugin]*proc{}}
	for _, c := range cands {
		if c.keep != nil {
			if other, dup := l.plugins[c.keep.name]; dup {
				l.problems = append(l.problems, fmt.Errorf("plugin %s: name %q is already taken by %s; skipped", c.path, c.keep.name, other.path))
				continue
			}
			l.add(c.keep)
			continue
		}
		if c.err != nil {
			l.problems = append(l.problems, fmt.Errorf("plugin %s: %v; remove it from the plugin dir, or rename it without the %s prefix", c.path, c.err, pluginrpc.BinaryPrefix))
			continue
		}
		pl, err := m.newPlugin(c.path, c.id, c.d)
		if err == nil {
			if other, dup := l.plugins[pl.name]; dup {
				err = fmt.Errorf("plugin %s: name %q is already taken by %s; skipped", c.path, pl.name, other.path)
			}
		}
		if err != nil {
			m.stopBackground(c.p)
			l.problems = append(l.problems, err)
			continue
		}
		l.add(pl)
		if !pl.fresh && pl.memLimit == 0 {
			l.warm[pl] = c.p
		} else {
			m.stopBackground(c.p)
		}
		if want := strings.TrimPrefix(filepath.Base(c.path), pluginrpc.BinaryPrefix); pl.name != want {
			l.problems = append(l.problems, fmt.Errorf("plugin %s calls itself %q, so its tasks are %s.*, not %s.*: rename the file %s%s, or change the plugin's name", c.path, pl.name, pl.name, want, pluginrpc.BinaryPrefix, pl.name))
		}
	}
	return l
}

func (l *loadout) add(pl *plugin) {
	l.plugins[pl.name] = pl
	for _, ti := range pl.tasks {
		l.tasks[ti.Name] = ti
	}
}

// stopBackground stops a process no plugin keeps, on a goroutine Close
// waits for.
func (m *Manager) stopBackground(p *proc) {
	m.bg.Go(func() { p.stop(m.cfg.KillGrace) })
}

// describe launches a plugin once and asks what it offers, all within
// StartTimeout: a plugin that never answers holds up Open no longer.
func (m *Manager) describe(path string) (*proc, *pluginpb.DescribeResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.StartTimeout)
	defer cancel()
	p, err := launch(&m.cfg, m.contain, path, 0)
	if err != nil {
		return nil, nil, err
	}
	d, err := p.rpc.Describe(ctx, &pluginpb.DescribeRequest{})
	if err != nil {
		p.kill()
		return nil, nil, fmt.Errorf("describe: %v", oneLine(err.Error()))
	}
	return p, d, nil
}

// newPlugin makes the plugin a described file offers, refusing malformed
// descriptions.
func (m *Manager) newPlugin(path string, id fileID, d *pluginpb.DescribeResponse) (*plugin, error) {
	name := d.GetName()
	if name == "" || strings.ContainsAny(name, ". \t\n") {
		return nil, fmt.Errorf("plugin %s: invalid plugin name %q", path, name)
	}
	if len(d.GetTasks()) == 0 {
		return nil, fmt.Errorf("plugin %s: offers no tasks", path)
	}
	pl := &plugin{name: name, version: d.GetVersion(), path: path, id: id, fresh: d.GetFreshProcessPerAttempt(), memLimit: m.cfg.memoryLimit(name)}
	seen := map[string]bool{}
	for _, t := range d.GetTasks() {
		if t.GetName() == "" || seen[t.GetName()] {
			return nil, fmt.Errorf("plugin %s: empty or duplicate task name %q", path, t.GetName())
		}
		seen[t.GetName()] = true
		pl.tasks = append(pl.tasks, TaskInfo{Name: name + "." + t.GetName(), Plugin: name, Version: pl.version,
			Description: t.GetDescription(), Path: path})
	}
	return pl, nil
}

// Problems lists the plugins that could not be loaded (at Open or at the
// last Reload), each naming its
// file, and warnings about the plugin dir (empty; a plugin whose name is
// not its file's), each in one line that says the fix.
func (m *Manager) Problems() []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.problems)
}

// Tasks lists every task offered, sorted by name.
func (m *Manager) Tasks() []TaskInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]TaskInfo, 0, len(m.tasks))
	for _, t := range m.tasks {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// HasTask reports whether a loaded plugin offers the task.
func (m *Manager) HasTask(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.tasks[name]
	return ok
}

// Close stops every process: idle ones are asked to exit, busy ones are
// killed (the engine interrupts attempts before it closes the manager).
// It waits for every attempt goroutine to finish.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	idle := map[*proc]bool{}
	var waiting []*Run
	for _, pl := range m.plugins {
		for _, p := range pl.idle {
			idle[p] = true
		}
		pl.idle = nil
		waiting = append(waiting, pl.waiting...)
		pl.waiting = nil
	}
	all := make([]*proc, 0, len(m.procs))
	for p := range m.procs {
		all = append(all, p)
	}
	m.procs = map[*proc]struct{}{}
	m.mu.Unlock()
	for _, r := range waiting {
		r.startFailed(ErrClosed)
	}
	var wg sync.WaitGroup
	for _, p := range all {
		wg.Go(func() {
			if idle[p] {
				p.stop(m.cfg.KillGrace)
			} else {
				p.kill()
			}
		})
	}
	wg.Wait()
	m.runs.Wait()
	m.bg.Wait()
	m.contain.close()
	return os.RemoveAll(m.socketDir)
}
