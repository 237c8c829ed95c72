package engine

import (
	"slices"
	"strings"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/ratelimit"
)

// Rate limits (Config.Rates) ride on the claim's quotas, as concurrency
// limits do: before a claim each rated task's quota, and each rated
// plugin's, is capped by the whole tokens its bucket holds (a cap of 0
// keeps the name in the quota, so nothing of it is claimed); the claimed
// attempts take their tokens when the claim is decided, before the next
// claim may be made (one claim is in flight at a time), so tokens are
// never spent twice; and a bucket without a whole token makes the loop
// wake when its next token is due. Jobs blocked on tokens stay queued.
// The buckets are this host's own, and start full.

// Throttle is a rated task or plugin without a whole token: its queued
// work waits for the token due at Next.
type Throttle struct {
	Name string
	Next time.Time
}

// bucketLocked is name's bucket, made full at first use, or nil when
// name is not rated. The caller holds e.mu.
func (e *Engine) bucketLocked(name string, now time.Time) *ratelimit.Bucket {
	r, ok := e.cfg.Rates[name]
	if !ok {
		return nil
	}
	b := e.buckets[name]
	if b == nil {
		b = ratelimit.NewBucket(r, now)
		e.buckets[name] = b
	}
	return b
}

// capRatesLocked caps the quotas of a claim by the whole tokens of the
// rated tasks (q) and plugins (plugins, made when needed, whose absent
// entries mean free). It returns plugins. The caller holds e.mu.
func (e *Engine) capRatesLocked(q, plugins map[string]int, free int, now time.Time) map[string]int {
	if len(e.cfg.Rates) == 0 {
		return plugins
	}
	for t, n := range q {
		if b := e.bucketLocked(t, now); b != nil {
			q[t] = min(n, b.Available(now))
		}
		p := model.PluginOf(t)
		if p == t {
			continue
		}
		if b := e.bucketLocked(p, now); b != nil {
			if plugins == nil {
				plugins = map[string]int{}
			}
			cur, ok := plugins[p]
			if !ok {
				cur = free
			}
			plugins[p] = min(cur, b.Available(now))
		}
	}
	return plugins
}

// spendRatesLocked takes the tokens of claimed attempts from their
// tasks' and plugins' buckets, and reports whether a bucket was left
// without a whole token (the loop must then wake when its next is due).
// The caller holds e.mu.
func (e *Engine) spendRatesLocked(jobs []*model.Job) (emptied bool) {
	if len(e.cfg.Rates) == 0 || len(jobs) == 0 {
		return false
	}
	now := e.cfg.Clock.Now()
	n := map[string]int{}
	for _, j := range jobs {
		if _, ok := e.cfg.Rates[j.Task]; ok {
			n[j.Task]++
		}
		if p := model.PluginOf(j.Task); p != j.Task {
			if _, ok := e.cfg.Rates[p]; ok {
				n[p]++
			}
		}
	}
	for name, k := range n {
		b := e.bucketLocked(name, now)
		// A claim takes only what the quota allowed, except jobs of a
		// task no plugin serves (claimed to be failed as unknown): those
		// may leave a debt, which the next tokens pay back.
		if !b.Take(k, now) && e.servedRated(name) {
			e.log.Error("engine bug: a claim took more than the tokens of a rate", "name", name, "took", k)
		}
		if b.Available(now) < 1 {
			emptied = true
		}
	}
	return emptied
}

// servedRated reports whether name (a task or a plugin) is, or has, a
// task the runner serves.
func (e *Engine) servedRated(name string) bool {
	for _, t := range e.runner.Tasks() {
		if t == name || strings.HasPrefix(t, name+".") {
			return true
		}
	}
	return false
}

// throttledLocked lists the rated names without a whole token at now, by
// name. The caller holds e.mu.
func (e *Engine) throttledLocked(now time.Time) []Throttle {
	var out []Throttle
	for name, b := range e.buckets {
		if b.Available(now) < 1 {
			out = append(out, Throttle{Name: name, Next: b.NextAt(now)})
		}
	}
	slices.SortFunc(out, func(a, b Throttle) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// nextTokenLocked is when the first bucket without a whole token gets
// one, or zero. A bucket that got its token back stops waking the loop:
// after the last rated claim the loop wakes at most once per bucket.
// The caller holds e.mu.
func (e *Engine) nextTokenLocked(now time.Time) time.Time {
	var next time.Time
	for _, b := range e.buckets {
		if b.Available(now) < 1 {
			if at := b.NextAt(now); next.IsZero() || at.Before(next) {
				next = at
			}
		}
	}
	return next
}
