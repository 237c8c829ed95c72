package host_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// Benchmarks of the engine with real plugin processes and a real, fsynced
// bbolt file. Custom metrics are per second of wall time; run with
// -benchtime=Nx -count=5 and report medians.

func benchHost(b *testing.B, workers int) *host.Host {
	h, _ := openHost(b, func(c *host.Config) { c.MaxWorkers = workers; c.MaxQueueSize = 10_000_000 })
	return h
}

// BenchmarkSubmitDurable: one job per Submit call, callers in parallel so
// that group commit has something to group (GOMAXPROCS × 16 goroutines).
func BenchmarkSubmitDurable(b *testing.B) {
	h := benchHost(b, 1)
	ctx := context.Background()
	h.PauseDispatch(ctx)
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

// BenchmarkSubmitDurableSerial: one caller, one commit per job.
func BenchmarkSubmitDurableSerial(b *testing.B) {
	h := benchHost(b, 1)
	ctx := context.Background()
	h.PauseDispatch(ctx)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

// BenchmarkSubmitMany: batches of 1000 jobs, one durable commit each.
func BenchmarkSubmitMany(b *testing.B) {
	h := benchHost(b, 1)
	ctx := context.Background()
	h.PauseDispatch(ctx)
	specs := make([]host.JobSpec, 1000)
	for i := range specs {
		specs[i] = host.JobSpec{Task: "chaos.noop"}
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := h.SubmitMany(ctx, specs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(specs))/time.Since(start).Seconds(), "jobs/s")
}

// BenchmarkEndToEndNoop: b.N chaos.noop jobs submitted in one commit, run
// through 8 warm plugin processes, every transition durable.
func BenchmarkEndToEndNoop(b *testing.B) {
	h := benchHost(b, 8)
	ctx := context.Background()
	warm(b, h, 8)
	specs := make([]host.JobSpec, b.N)
	for i := range specs {
		specs[i] = host.JobSpec{Task: "chaos.noop"}
	}
	b.ResetTimer()
	start := time.Now()
	ids, err := h.SubmitMany(ctx, specs)
	if err != nil {
		b.Fatal(err)
	}
	for _, id := range ids {
		if j, err := h.Wait(ctx, id); err != nil || j.State != host.StateCompleted {
			b.Fatalf("job %s: %v %v", id, j, err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

// BenchmarkIdleLatency: on an idle host, the time from calling Submit to
// the job's running event (its attempt has been handed to a warm plugin).
func BenchmarkIdleLatency(b *testing.B) {
	h := benchHost(b, 8)
	ctx := context.Background()
	warm(b, h, 1)
	rec := record(b, h, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		id, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop"})
		if err != nil {
			b.Fatal(err)
		}
		rec.until(b, stateEvent(id, host.StateRunning))
		lat = append(lat, time.Since(t0))
		rec.until(b, stateEvent(id, host.StateCompleted))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkFanIn: n jobs and one job that depends on all of them. The
// same jobs/s at every n shows that an edge costs O(1).
func BenchmarkFanIn(b *testing.B) {
	for _, n := range []int{2500, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchFanIn(b, n) })
	}
}

func benchFanIn(b *testing.B, n int) {
	h := benchHost(b, 8)
	ctx := context.Background()
	warm(b, h, 8)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		specs := make([]host.JobSpec, n)
		for i := range specs {
			specs[i] = host.JobSpec{Task: "chaos.noop"}
		}
		h.PauseDispatch(ctx)
		ids, err := h.SubmitMany(ctx, specs)
		if err != nil {
			b.Fatal(err)
		}
		sink, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", DependsOn: host.After(ids...)})
		if err != nil {
			b.Fatal(err)
		}
		h.ResumeDispatch(ctx)
		if j, err := h.Wait(ctx, sink); err != nil || j.State != host.StateCompleted {
			b.Fatalf("%v %v", j, err)
		}
	}
	b.ReportMetric(float64(b.N*(n+1))/time.Since(start).Seconds(), "jobs/s")
}

// BenchmarkChain: a sequential group of n jobs, each waiting for the one
// before.
func BenchmarkChain(b *testing.B) {
	for _, n := range []int{2500, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchChain(b, n) })
	}
}

func benchChain(b *testing.B, n int) {
	h := benchHost(b, 8)
	ctx := context.Background()
	warm(b, h, 1)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		g, err := h.CreateGroup(ctx, host.GroupSpec{Name: "chain", Sequential: true})
		if err != nil {
			b.Fatal(err)
		}
		specs := make([]host.JobSpec, n)
		for i := range specs {
			specs[i] = host.JobSpec{Task: "chaos.noop", Group: g}
		}
		if _, err := h.SubmitMany(ctx, specs); err != nil {
			b.Fatal(err)
		}
		if gr, err := h.WaitGroup(ctx, g); err != nil || gr.Outcome != "completed" {
			b.Fatalf("%+v %v", gr, err)
		}
	}
	b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "jobs/s")
}

// warm starts n plugin processes so that the measurement excludes launches.
func warm(b testing.TB, h *host.Host, n int) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := h.Submit(ctx, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 100}})
			if err == nil {
				_, err = h.Wait(ctx, id)
			}
			if err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
}
