package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// BenchmarkHostDaemons measures how the throughput of a PostgreSQL queue
// grows with the daemons sharing it: 1, 2 and 3 "batchhost serve"
// processes of 4 workers each run jobs that sleep 20 ms (sleep-bound
// work, so the machine's cores are not what limits it). Each iteration
// submits 400 jobs per host with every host's dispatch paused, resumes
// them all and reports jobs/s from the resume to the last job's end, as
// the jobs record it.
//
//	go test ./host/cmd/batchhost -run '^$' -bench HostDaemons -benchtime 3x
func BenchmarkHostDaemons(b *testing.B) {
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			db := migrated(b)
			var hosts []*clusterHost
			for range n {
				hosts = append(hosts, startClusterHost(b, db, "--max-workers", "4"))
			}
			ctx := context.Background()
			jobs := 400 * n
			var total time.Duration
			b.ResetTimer()
			for range b.N {
				total += runSleepers(b, ctx, hosts, jobs)
			}
			b.StopTimer()
			b.ReportMetric(float64(jobs*b.N)/total.Seconds(), "jobs/s")
			for _, h := range hosts {
				h.stop(b)
			}
		})
	}
}

// runSleepers runs jobs 20 ms sleeps on the hosts and returns the time
// from releasing them to the last one's end.
func runSleepers(b *testing.B, ctx context.Context, hosts []*clusterHost, jobs int) time.Duration {
	for _, h := range hosts {
		if err := h.c.PauseDispatch(ctx); err != nil {
			b.Fatal(err)
		}
	}
	specs := make([]host.JobSpec, jobs)
	for i := range specs {
		specs[i] = host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 20}}
	}
	ids, err := hosts[0].c.SubmitMany(ctx, specs)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for _, h := range hosts {
		if err := h.c.ResumeDispatch(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var last time.Time
	for _, id := range ids {
		j, err := hosts[0].c.Wait(ctx, id)
		if err != nil || j.State != host.StateCompleted || j.FinishedAt == nil {
			b.Fatalf("job %s: %+v %v", id, j, err)
		}
		if j.FinishedAt.After(last) {
			last = *j.FinishedAt
		}
	}
	return last.Sub(start)
}
