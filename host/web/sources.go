package web

import (
	"context"
	"time"

	"github.com/batchhost/batchhost/host"
)

// Sources supplies data that only the engine's runner or store has and
// that the public host API does not offer (yet). Each field is optional:
// New fills a nil field from the host when *host.Host has the method of
// the same name and signature, so nothing needs wiring once the host
// grows it; until then the dashboard shows "n/a" and /metrics leaves the
// metric out (or, for crashes, counts those that failed an attempt).
type Sources struct {
	// PluginProcesses reports the live plugin processes per plugin name.
	PluginProcesses func() map[string]int
	// PluginStarts reports the plugin processes started since Open, per
	// plugin name.
	PluginStarts func() map[string]uint64
	// PluginCrashes reports plugin processes that died without being
	// asked to since Open, per plugin name and kind ("exit", "signal",
	// "start", ...), whether or not an attempt was running.
	PluginCrashes func() map[string]map[string]uint64
	// OldestReady reports, per priority, when the oldest job ready to run
	// (queued, not delayed) became ready. A priority without ready jobs
	// is absent.
	OldestReady func() map[host.Priority]time.Time
	// CountsByPriority reports jobs by state and priority. A state it
	// leaves out is not shown by priority (the host counts unfinished
	// jobs only).
	CountsByPriority func(ctx context.Context) (map[host.State]map[host.Priority]int, error)
	// Dependents reports the jobs that wait for job id.
	Dependents func(ctx context.Context, id string) ([]host.Dep, error)
	// ObserveCommits registers fn, called after every store commit with
	// its latency and number of changes, until stop is called.
	ObserveCommits func(fn func(latency time.Duration, changes int)) (stop func())
}

// The host methods Sources looks for, by name.
type (
	pluginProcesses interface{ PluginProcesses() map[string]int }
	pluginStarts    interface{ PluginStarts() map[string]uint64 }
	pluginCrashes   interface {
		PluginCrashes() map[string]map[string]uint64
	}
	oldestReady interface {
		OldestReady() map[host.Priority]time.Time
	}
	countsByPriority interface {
		CountsByPriority(ctx context.Context) (map[host.State]map[host.Priority]int, error)
	}
	dependents interface {
		Dependents(ctx context.Context, id string) ([]host.Dep, error)
	}
	observeCommits interface {
		ObserveCommits(fn func(latency time.Duration, changes int)) (stop func())
	}
)

// fill sets every nil field that h (any value, so tests can pass their
// own) implements.
func (s Sources) fill(h any) Sources {
	if v, ok := h.(pluginProcesses); ok && s.PluginProcesses == nil {
		s.PluginProcesses = v.PluginProcesses
	}
	if v, ok := h.(pluginStarts); ok && s.PluginStarts == nil {
		s.PluginStarts = v.PluginStarts
	}
	if v, ok := h.(pluginCrashes); ok && s.PluginCrashes == nil {
		s.PluginCrashes = v.PluginCrashes
	}
	if v, ok := h.(oldestReady); ok && s.OldestReady == nil {
		s.OldestReady = v.OldestReady
	}
	if v, ok := h.(countsByPriority); ok && s.CountsByPriority == nil {
		s.CountsByPriority = v.CountsByPriority
	}
	if v, ok := h.(dependents); ok && s.Dependents == nil {
		s.Dependents = v.Dependents
	}
	if v, ok := h.(observeCommits); ok && s.ObserveCommits == nil {
		s.ObserveCommits = v.ObserveCommits
	}
	return s
}
