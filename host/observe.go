package host

import (
	"context"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

// These methods feed dashboards and metrics (package web finds them by
// name). Their figures count from Open: a restarted host starts from zero,
// as Prometheus counters expect.

// PluginProcesses reports the live processes of each loaded plugin, idle
// or busy; a plugin without any is present with 0.
func (h *Host) PluginProcesses() map[string]int { return h.plugins.PluginProcesses() }

// PluginStarts reports how many processes of each plugin were started
// since Open.
func (h *Host) PluginStarts() map[string]uint64 { return h.plugins.PluginStarts() }

// PluginCrashes reports, per plugin and kind, the processes that died
// without being asked to since Open, in an attempt or idle: "exit" (it
// exited by itself), "signal" (a signal killed it: a segfault, the OOM
// killer, someone's kill), "stream" (it broke its channel and was killed
// for it), "start" (a launch failed).
func (h *Host) PluginCrashes() map[string]map[string]uint64 { return h.plugins.PluginCrashes() }

// observeTimeout bounds how long the methods without a context wait for
// the store: a scrape must not hang on a host that is wedged.
const observeTimeout = 5 * time.Second

// OldestReady reports, per priority, when the job that has been ready to
// run longest (queued and not delayed) became ready: when it was queued,
// or when its run-at time or retry backoff ran out. A priority without
// ready jobs is absent; so is everything when the host is closed.
func (h *Host) OldestReady() map[Priority]time.Time {
	ctx, cancel := context.WithTimeout(context.Background(), observeTimeout)
	defer cancel()
	if h.check(ctx) != nil {
		return nil
	}
	out, err := h.store.OldestReady(ctx, h.cfg.Clock.Now())
	if err != nil {
		return nil
	}
	return out
}

// CountsByPriority reports the unfinished jobs (created, waiting, queued,
// running, paused) by state and priority; each of those states is present,
// with every priority. Finished jobs are not counted by priority (Stats
// counts them by state).
func (h *Host) CountsByPriority(ctx context.Context) (map[State]map[Priority]int, error) {
	if err := h.check(ctx); err != nil {
		return nil, err
	}
	c, err := h.store.Counts(ctx)
	if err != nil {
		return nil, fromBackend(err)
	}
	out := map[State]map[Priority]int{}
	for _, st := range model.States {
		if st.Live() {
			out[st] = map[Priority]int{}
			for _, p := range model.Priorities {
				out[st][p] = c[st][p]
			}
		}
	}
	return out, nil
}

// Dependents reports the jobs that depend on job id, with their edge
// policies, in id order; none is not an error. An unknown id is.
func (h *Host) Dependents(ctx context.Context, id string) ([]Dep, error) {
	if _, err := h.Get(ctx, id); err != nil {
		return nil, err
	}
	deps, err := h.store.Dependents(ctx, id)
	if err != nil {
		return nil, fromBackend(err)
	}
	out := make([]Dep, len(deps))
	for i, d := range deps {
		out[i] = Dep{Job: d.ID, Policy: d.Policy}
	}
	return out, nil
}

// ObserveCommits registers fn, called after every store commit with its
// latency (fsync included) and the job records it wrote, until stop is
// called. fn runs on the store's writer, which waits for it: it must be
// quick and must not call the host. A store without the hook (PostgreSQL,
// where other hosts commit too) never calls fn.
func (h *Host) ObserveCommits(fn func(latency time.Duration, changes int)) (stop func()) {
	if o, ok := h.store.(commitObservable); ok {
		return o.ObserveCommits(fn)
	}
	return func() {}
}
