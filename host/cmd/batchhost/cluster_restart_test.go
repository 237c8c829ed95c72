package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/internal/testpg"
)

// Two daemons share a queue on a PostgreSQL server of the test's own,
// which crashes (immediate stop: every connection cut, no checkpoint) in
// the middle of their run and comes back two seconds later. The daemons
// keep serving, reconnect, and every job completes; no job's attempts
// overlap.
func TestDatabaseRestartMidRun(t *testing.T) {
	srv := testpg.Private(t)
	db := srv.URL()
	if r := runCLI(t, map[string]string{"HOME": t.TempDir(), databaseEnv: db}, "", "migrate", "up"); r.code != 0 {
		t.Fatalf("migrate up: %s", r.stderr)
	}
	hosts := []*clusterHost{startClusterHost(t, db, "--max-workers", "4"), startClusterHost(t, db, "--max-workers", "4")}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	specs := make([]host.JobSpec, 1000)
	for i := range specs {
		specs[i] = host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 20}, Priority: []host.Priority{host.PriorityLow, host.PriorityNormal, host.PriorityHigh, host.PriorityCritical}[i%4]}
	}
	ids, err := hosts[0].c.SubmitMany(ctx, specs)
	if err != nil {
		t.Fatal(err)
	}
	untilTrue(t, "a fifth of the jobs done", func() bool {
		st, err := hosts[1].c.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Counts[host.StateCompleted] >= 200
	})
	srv.Stop(t, "immediate")
	time.Sleep(2 * time.Second) // the outage itself: nothing to wait for
	srv.Start(t)

	for _, id := range ids {
		j, err := hosts[len(id)%2].c.Wait(ctx, id)
		if err != nil {
			t.Fatalf("wait %s after the restart: %v\n%s\n%s", id, err, hosts[0].logText(), hosts[1].logText())
		}
		if j.State != host.StateCompleted {
			t.Errorf("job %s ended %s: %v", id, j.State, j.Error)
		}
		if p := noOverlap(j); p != "" {
			t.Errorf("job %s: %s", id, p)
		}
	}
	interrupted := 0
	for _, j := range allJobs(t, hosts[0].c, host.ListFilter{}) {
		interrupted += len(j.Attempts) - 1
	}
	for _, h := range hosts {
		h.stop(t)
		// The outage reached each host, which said so once and said when
		// it was over.
		if l := h.logText(); !strings.Contains(l, "did not answer") || !strings.Contains(l, "answers again") || strings.Contains(l, "refuses further changes") {
			t.Errorf("host %d's log does not tell the outage and its end (or latched a failure):\n%s", h.pid(), l)
		}
	}
	t.Logf("%d jobs completed across a database crash and restart; %d attempts were retried", len(ids), interrupted)
}
