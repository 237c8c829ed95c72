package runner

import (
	"context"
	"fmt"
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
	fresh               bool // a new process per attempt
	memLimit            int64
	idle                []*proc // warm, ready processes; the last is the warmest
	waiting             []*Run  // attempts waiting for a process, oldest first
	launching           int     // launches under way
	live                int     // processes in Manager.procs
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
	procs    map[*proc]struct{} // every live process, idle or busy
	closed   bool
	runs     sync.WaitGroup // attempts not finished
	stats    counters
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
		tasks: map[string]TaskInfo{}, procs: map[*proc]struct{}{}}
	if err := m.discover(); err != nil {
		contain.close()
		os.RemoveAll(sock)
		return nil, err
	}
	return m, nil
}

// discover loads every batchhost-plugin-* executable, in name order, so
// that which of two plugins claiming one name wins does not depend on the
// file system.
func (m *Manager) discover() error {
	entries, err := os.ReadDir(m.cfg.Dir)
	if err != nil {
		return fmt.Errorf("plugin dir %s: %w", m.cfg.Dir, err)
	}
	type found struct {
		path string
		p    *proc
		d    *pluginpb.DescribeResponse
		err  error
	}
	var cands []*found
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), pluginrpc.BinaryPrefix) {
			continue
		}
		path := filepath.Join(m.cfg.Dir, e.Name())
		info, err := os.Stat(path)
		switch {
		case err != nil:
			m.problem(fmt.Errorf("plugin %s: %w", path, err))
			continue
		case info.IsDir():
			m.problem(fmt.Errorf("plugin %s: is a directory, not an executable", path))
			continue
		case info.Mode()&0o111 == 0:
			m.problem(fmt.Errorf("plugin %s: not executable (chmod +x it)", path))
			continue
		}
		if !m.cfg.InsecureDir {
			if err := checkPluginTrust(path); err != nil {
				m.problem(err)
				continue
			}
		}
		cands = append(cands, &found{path: path})
	}
	// Launch them concurrently: start-up time is the slowest plugin's, not
	// the sum.
	var wg sync.WaitGroup
	for _, f := range cands {
		wg.Go(func() {
			f.p, f.d, f.err = m.describe(f.path)
		})
	}
	wg.Wait()
	if len(cands) == 0 && len(m.problems) == 0 {
		m.problem(fmt.Errorf("plugin dir %s holds no %s* executables, so no task can run: put plugins there, or point --plugin-dir (BATCHHOST_PLUGIN_DIR) at the directory that holds them", m.cfg.Dir, pluginrpc.BinaryPrefix))
	}
	for _, f := range cands {
		if f.err != nil {
			m.problem(fmt.Errorf("plugin %s: %v; remove it from the plugin dir, or rename it without the %s prefix", f.path, f.err, pluginrpc.BinaryPrefix))
			continue
		}
		if err := m.register(f.path, f.p, f.d); err != nil {
			f.p.stop(m.cfg.KillGrace)
			m.problem(err)
			continue
		}
		if want := strings.TrimPrefix(filepath.Base(f.path), pluginrpc.BinaryPrefix); f.d.GetName() != want {
			m.problem(fmt.Errorf("plugin %s calls itself %q, so its tasks are %s.*, not %s.*: rename the file %s%s, or change the plugin's name", f.path, f.d.GetName(), f.d.GetName(), want, pluginrpc.BinaryPrefix, f.d.GetName()))
		}
	}
	return nil
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

// register records a described plugin, refusing a second plugin of the
// same name and malformed descriptions. The described process becomes the
// plugin's first warm process (unless it wants fresh processes, or a
// memory limit applies that was not set at launch).
func (m *Manager) register(path string, p *proc, d *pluginpb.DescribeResponse) error {
	name := d.GetName()
	if name == "" || strings.ContainsAny(name, ". \t\n") {
		return fmt.Errorf("plugin %s: invalid plugin name %q", path, name)
	}
	if len(d.GetTasks()) == 0 {
		return fmt.Errorf("plugin %s: offers no tasks", path)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if other, dup := m.plugins[name]; dup {
		return fmt.Errorf("plugin %s: name %q is already taken by %s; skipped", path, name, other.path)
	}
	pl := &plugin{name: name, version: d.GetVersion(), path: path, fresh: d.GetFreshProcessPerAttempt(), memLimit: m.cfg.memoryLimit(name)}
	seen := map[string]bool{}
	var infos []TaskInfo
	for _, t := range d.GetTasks() {
		if t.GetName() == "" || seen[t.GetName()] {
			return fmt.Errorf("plugin %s: empty or duplicate task name %q", path, t.GetName())
		}
		seen[t.GetName()] = true
		infos = append(infos, TaskInfo{Name: name + "." + t.GetName(), Plugin: name, Version: pl.version,
			Description: t.GetDescription(), Path: path})
	}
	m.plugins[name] = pl
	for _, ti := range infos {
		m.tasks[ti.Name] = ti
	}
	if !pl.fresh && pl.memLimit == 0 {
		m.addProcLocked(pl, p)
		m.idleLocked(pl, p)
	} else {
		m.bg.Go(func() { p.stop(m.cfg.KillGrace) })
	}
	m.log.Info("plugin loaded", "plugin", name, "version", pl.version, "tasks", len(infos), "path", path)
	return nil
}

// problem records a problem with the plugin dir or one of its plugins.
// It is not logged here: Problems hands it to the caller, which reports
// it once (the daemon logs each; the dashboard shows them).
func (m *Manager) problem(err error) {
	m.mu.Lock()
	m.problems = append(m.problems, err)
	m.mu.Unlock()
}

// Problems lists the plugins that could not be loaded, each naming its
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
