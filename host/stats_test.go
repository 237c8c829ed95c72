package host_test

import (
	"testing"

	"github.com/batchhost/batchhost/host"
)

// Stats takes its counts by state and its queue depth from one snapshot
// (issue 15, defect 9: they came from two reads and disagreed under
// load): while jobs of every priority are submitted and run, every Stats
// has as many queued jobs as its depth summed over the priorities.
func TestStatsCountsAndDepthAgreeUnderLoad(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	prios := []host.Priority{host.PriorityLow, host.PriorityNormal, host.PriorityHigh, host.PriorityCritical}
	const batches, perBatch = 20, 50
	submitted := make(chan error, 1)
	go func() {
		for b := range batches {
			specs := make([]host.JobSpec, perBatch)
			for i := range specs {
				specs[i] = host.JobSpec{Task: "chaos.noop", Priority: prios[(b+i)%len(prios)]}
			}
			if _, err := h.SubmitMany(ctx, specs); err != nil {
				submitted <- err
				return
			}
		}
		submitted <- nil
	}()
	reads, busy := 0, 0
	for done := false; ; {
		if !done {
			select {
			case err := <-submitted:
				if err != nil {
					t.Fatal(err)
				}
				done = true
			default:
			}
		}
		st, err := h.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		reads++
		depth := 0
		for _, n := range st.QueueDepth {
			depth += n
		}
		if q := st.Counts[host.StateQueued]; q != depth {
			t.Fatalf("Stats %d: %d queued jobs but a queue depth of %d (%v)", reads, q, depth, st.QueueDepth)
		}
		if depth > 0 && st.BusyWorkers > 0 {
			busy++
		}
		if done && st.Counts[host.StateCompleted] == batches*perBatch {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the jobs did not complete: %v", st.Counts)
		}
	}
	t.Logf("%d Stats calls agreed, %d of them with jobs both queued and running", reads, busy)
}
