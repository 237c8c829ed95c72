package runner

import (
	"maps"
	"strings"
	"sync"
)

// counters count process starts and unasked deaths per plugin since Open,
// for the host's metrics. They have a lock of their own so that a scrape
// never waits on the pool's.
type counters struct {
	mu      sync.Mutex
	starts  map[string]uint64
	crashes map[string]map[string]uint64
}

func (c *counters) started(plugin string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.starts == nil {
		c.starts = map[string]uint64{}
	}
	c.starts[plugin]++
}

func (c *counters) crashed(plugin, kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crashes == nil {
		c.crashes = map[string]map[string]uint64{}
	}
	if c.crashes[plugin] == nil {
		c.crashes[plugin] = map[string]uint64{}
	}
	c.crashes[plugin][kind]++
}

// Crash kinds, the label values of the crash counters.
const (
	CrashExit   = "exit"   // the process exited by itself
	CrashSignal = "signal" // a signal killed it (OOM killer, segfault, someone's kill)
	CrashStream = "stream" // it broke its channel and was killed for it
	CrashStart  = "start"  // a launch failed: no handshake, a bad one, a start timeout
)

// exitKind sorts an exit description ("exit status 2", "signal: killed")
// into a crash kind.
func exitKind(exit string) string {
	switch {
	case strings.HasPrefix(exit, "exit status"):
		return CrashExit
	case strings.HasPrefix(exit, "signal"):
		return CrashSignal
	}
	return CrashStream
}

// PluginProcesses reports the live processes of each loaded plugin, idle or
// busy, those of generations a reload replaced included; a plugin without
// any is present with 0.
func (m *Manager) PluginProcesses() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.plugins))
	for name, pl := range m.plugins {
		out[name] = pl.live
	}
	m.pruneRetiredLocked()
	for _, pl := range m.retired {
		out[pl.name] += pl.live // finishing attempts after a reload
	}
	return out
}

// PluginStarts reports the processes that joined each plugin's pool since
// Open (the one discovery started included, when it is kept).
func (m *Manager) PluginStarts() map[string]uint64 {
	m.stats.mu.Lock()
	defer m.stats.mu.Unlock()
	return maps.Clone(m.stats.starts)
}

// PluginCrashes reports, per plugin and crash kind, the processes that died
// or failed to start without being asked to since Open, whether or not an
// attempt was running in them.
func (m *Manager) PluginCrashes() map[string]map[string]uint64 {
	m.stats.mu.Lock()
	defer m.stats.mu.Unlock()
	out := make(map[string]map[string]uint64, len(m.stats.crashes))
	for name, kinds := range m.stats.crashes {
		out[name] = maps.Clone(kinds)
	}
	return out
}
