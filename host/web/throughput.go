package web

import (
	"sync"
	"time"
)

// Throughput chart geometry: the overview shows the last chartSpan in
// chartBuckets bars.
const (
	chartBuckets = 30
	chartStep    = 30 * time.Second
	chartSpan    = chartBuckets * chartStep
)

// throughput counts finished jobs per chartStep over the last chartSpan, in
// a fixed ring: its memory does not grow however long the host runs.
type throughput struct {
	mu    sync.Mutex
	ring  [chartBuckets]bucket
	clock func() time.Time
}

type bucket struct {
	start     time.Time // truncated to chartStep; zero for an unused slot
	completed int
	failed    int // failed or canceled
}

func newThroughput(clock func() time.Time) *throughput {
	return &throughput{clock: clock}
}

func (t *throughput) add(completed bool) {
	now := t.clock().Truncate(chartStep)
	t.mu.Lock()
	defer t.mu.Unlock()
	b := &t.ring[now.Unix()/int64(chartStep/time.Second)%chartBuckets]
	if !b.start.Equal(now) {
		*b = bucket{start: now}
	}
	if completed {
		b.completed++
	} else {
		b.failed++
	}
}

// series returns the last chartBuckets steps, oldest first, zero where
// nothing finished.
func (t *throughput) series() []bucket {
	now := t.clock().Truncate(chartStep)
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]bucket, chartBuckets)
	for i := range out {
		start := now.Add(-time.Duration(chartBuckets-1-i) * chartStep)
		b := t.ring[start.Unix()/int64(chartStep/time.Second)%chartBuckets]
		if !b.start.Equal(start) {
			b = bucket{start: start}
		}
		out[i] = b
	}
	return out
}
