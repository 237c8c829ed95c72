package postgres

import (
	"sync"
	"time"
)

// commitObservers are called after each of this store's write
// transactions (the writes of other hosts sharing the queue are theirs to
// report).
type commitObservers struct {
	mu  sync.Mutex
	fns map[int]func(latency time.Duration, jobs int)
	n   int
}

func (c *commitObservers) observe(took time.Duration, jobs int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, fn := range c.fns {
		fn(took, jobs)
	}
}

// ObserveCommits registers fn, called after each write transaction this
// store commits that changed jobs, with its latency (from the first try's
// start to the commit, retries after a conflict included) and the jobs it
// changed, until stop is called. fn must be quick and must not call the store.
func (s *Store) ObserveCommits(fn func(latency time.Duration, jobs int)) (stop func()) {
	c := &s.commits
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fns == nil {
		c.fns = map[int]func(time.Duration, int){}
	}
	c.n++
	id := c.n
	c.fns[id] = fn
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.fns, id)
	}
}
