package host_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// BenchmarkSharedQueueHosts: 1, 2 and 3 hosts (in this process, each with
// its own plugin processes) on one PostgreSQL queue, 4 workers each, run
// b.N jobs that sleep 20 ms, submitted at once through the first host;
// jobs/s from the submit to the last completion (read from Stats). The
// work is sleep-bound, so the rate should grow with the hosts, not with
// the cores. Run with -benchtime=1200x.
func BenchmarkSharedQueueHosts(b *testing.B) {
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			db := migratedDatabase(b)
			ctx := context.Background()
			hs := make([]*host.Host, n)
			for i := range hs {
				h, err := host.Open(host.Config{DataDir: b.TempDir(), PluginDir: pluginDir, MaxWorkers: 4,
					MaxQueueSize: 10_000_000, Database: db, PollInterval: 100 * time.Millisecond})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { h.Close() })
				if err := h.Start(ctx); err != nil {
					b.Fatal(err)
				}
				hs[i] = h
			}
			sleep := host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 20}}
			done := func(want int) {
				for {
					st, err := hs[0].Stats(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if st.Counts[host.StateCompleted] >= want {
						return
					}
					time.Sleep(5 * time.Millisecond) // the count is read from the database; there is no event for other hosts' jobs
				}
			}
			// Warm up: the plugin processes start on the first jobs.
			warm := make([]host.JobSpec, 8*n)
			for i := range warm {
				warm[i] = sleep
			}
			if _, err := hs[0].SubmitMany(ctx, warm); err != nil {
				b.Fatal(err)
			}
			done(len(warm))
			specs := make([]host.JobSpec, b.N)
			for i := range specs {
				specs[i] = sleep
			}
			b.ResetTimer()
			start := time.Now()
			if _, err := hs[0].SubmitMany(ctx, specs); err != nil {
				b.Fatal(err)
			}
			done(len(warm) + b.N)
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
		})
	}
}
