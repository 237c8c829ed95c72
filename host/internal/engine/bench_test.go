package engine

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// BenchmarkThroughput runs b.N jobs of 400µs on 8 workers over a real
// bbolt file (fsync on), from one insert to the last finish: what the
// engine and the store cost per job beyond the attempts themselves
// (8 workers of 400µs could do 20,000 jobs/s).
func BenchmarkThroughput(b *testing.B) {
	rg := newRig(b, "", 8, nil)
	rg.e.Start()
	jobs := make([]*model.Job, b.N)
	for i := range jobs {
		jobs[i] = job("t.a", model.Normal, fakeArgs{SleepUS: benchSleepUS()})
	}
	b.ResetTimer()
	if _, err := rg.e.Insert(context.Background(), backend.InsertParams{Jobs: jobs}); err != nil {
		b.Fatal(err)
	}
	for _, j := range jobs {
		rg.wait(b, j.ID)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
	c, o := rg.q.Commits()
	b.ReportMetric(float64(o)/float64(max(c, 1)), "ops/commit")
}

// benchSleepUS is each attempt's length: ENGINE_BENCH_SLEEP_US, default 400.
func benchSleepUS() int {
	if n, err := strconv.Atoi(os.Getenv("ENGINE_BENCH_SLEEP_US")); err == nil {
		return n
	}
	return 400
}
