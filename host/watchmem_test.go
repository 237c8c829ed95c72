package host_test

import (
	"runtime"
	"testing"

	"github.com/batchhost/batchhost/host"
)

// Subscriptions that read nothing hold no event buffers of their own
// (issue 15, defect 5: 2,000 idle watchers grew the daemon to 7 GB, each
// with a channel of 8,192 events): 100 of them grow the heap by less than
// 64 KiB each, and they are live, not refused: each is told of a job
// submitted after them.
func TestIdleSubscribersHoldNoBuffers(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	const n = 100
	subs := make([]<-chan host.Event, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range subs {
		subs[i] = h.Subscribe(ctx, host.EventFilter{})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapInuse) - int64(before.HeapInuse)) / n
	t.Logf("%d idle subscriptions: %d heap bytes each", n, per)
	if per > 64<<10 {
		t.Errorf("each idle subscription holds %d heap bytes, want under 64 KiB", per)
	}
	id := submit(t, h, host.JobSpec{Task: "chaos.noop"})
	for i, sub := range subs {
		seen := false
		for ev := range sub {
			if ev.Job == id {
				seen = true
				break
			}
		}
		if !seen {
			t.Fatalf("subscription %d ended without an event of the job submitted after it", i)
		}
	}
}
