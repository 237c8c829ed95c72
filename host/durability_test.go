package host_test

import (
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// What WaitGroup returns as done, and the job an existing idempotency key
// resolves to, are on disk when the call returns — even while the store's
// writer is busy with a large commit.
func TestRepliesWaitForTheCommitsInFlight(t *testing.T) {
	h, _ := openHost(t, func(c *host.Config) { c.MaxQueueSize = 1 << 20 })
	ctx := ctxT(t)
	for round := range 3 {
		g, _ := h.CreateGroup(ctx, host.GroupSpec{Name: "g"})
		member, _ := h.Create(ctx, host.JobSpec{Task: "chaos.noop", Group: g})
		specs := make([]host.JobSpec, 5000)
		for i := range specs {
			specs[i] = host.JobSpec{Task: "chaos.noop", Priority: host.PriorityLow, Delay: time.Hour}
		}
		specs[len(specs)-1].Key = "key-" + string(rune('a'+round))
		big := make(chan []string, 1)
		go func() {
			ids, err := h.SubmitMany(ctx, specs)
			if err != nil {
				t.Error(err)
			}
			big <- ids
		}()
		for s, _ := h.Stats(ctx); s.QueueDepth["low"] < len(specs)*(round+1); s, _ = h.Stats(ctx) {
		}
		// The engine holds the batch; its commit may still be in flight.
		id, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", Key: specs[len(specs)-1].Key})
		if err != nil {
			t.Fatal(err)
		}
		if st, err := host.DurableJobState(h, id); err != nil || st != host.StateQueued {
			t.Fatalf("round %d: Submit with an existing key returned %s before it was on disk: %s %v", round, id, st, err)
		}
		go h.CancelGroup(ctx, g)
		for j, _ := h.Get(ctx, member); !j.Done(); j, _ = h.Get(ctx, member) {
		}
		if _, err := h.WaitGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		if done, err := host.DurableGroupDone(h, g); err != nil || !done {
			t.Fatalf("round %d: WaitGroup returned before the group was done on disk: %v %v", round, done, err)
		}
		<-big
	}
}
