package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// BenchmarkQueueScale measures the bbolt backend holding a large queue:
// QUEUE_SCALE jobs (default 1,000,000) are inserted in calls of 100,000;
// then the file is reopened and the benchmark reports how long the open
// took, the Go heap and the process's resident memory after it, the rate
// of one more insert of 100,000 with the queue full, and the p99 of
// point reads, pages of 100 and counts. It is slow (minutes for a
// million): run it alone, with -benchtime 1x.
//
//	QUEUE_SCALE=1000000 go test -run '^$' -bench QueueScale -benchtime 1x ./host/internal/store/
func BenchmarkQueueScale(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("QUEUE_SCALE"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100_000 {
			b.Fatalf("QUEUE_SCALE=%q: want a number of jobs, at least 100000", v)
		}
	}
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "q.db")
	q, err := OpenQueue(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	const chunk = 100_000
	id := 0
	batch := func() []*model.Job {
		jobs := make([]*model.Job, chunk)
		for i := range jobs {
			id++
			jobs[i] = &model.Job{ID: fmt.Sprintf("01a22e00-0000-7000-8000-%012d", id), Task: "chaos.noop",
				Priority: model.Priority(id%4 - 1), MaxAttempts: 3, CreatedAt: time.Unix(1, 0)}
		}
		return jobs
	}
	for id < n {
		if _, err := q.Insert(ctx, backend.InsertParams{Jobs: batch()}); err != nil {
			b.Fatal(err)
		}
	}
	if err := q.Close(); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	debug.FreeOSMemory()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		q, err = OpenQueue(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		openTime := time.Since(start)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(openTime.Milliseconds()), "open_ms")
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap_MB")
		b.ReportMetric(procStatusMB("VmRSS:"), "rss_MB")
		// Of which file pages (the data file's map, which the kernel may
		// drop and read again) and anonymous memory (the heap and stacks).
		b.ReportMetric(procStatusMB("RssFile:"), "rss_file_MB")
		b.ReportMetric(procStatusMB("RssAnon:"), "rss_anon_MB")
		if fi, err := os.Stat(path); err == nil {
			b.ReportMetric(float64(fi.Size())/(1<<20), "file_MB")
		}

		start = time.Now()
		if _, err := q.Insert(ctx, backend.InsertParams{Jobs: batch()}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(chunk/time.Since(start).Seconds(), "insert100k_jobs/s")

		var get, list, counts []time.Duration
		for i := range 200 {
			t0 := time.Now()
			if _, err := q.Job(ctx, fmt.Sprintf("01a22e00-0000-7000-8000-%012d", 1+i*(n/200))); err != nil {
				b.Fatal(err)
			}
			get = append(get, time.Since(t0))
			t0 = time.Now()
			if _, _, err := q.ListJobs(ctx, backend.JobFilter{Limit: 100}); err != nil {
				b.Fatal(err)
			}
			list = append(list, time.Since(t0))
			t0 = time.Now()
			if _, err := q.Counts(ctx); err != nil {
				b.Fatal(err)
			}
			counts = append(counts, time.Since(t0))
		}
		b.ReportMetric(p99ms(get), "get_p99_ms")
		b.ReportMetric(p99ms(list), "list100_p99_ms")
		b.ReportMetric(p99ms(counts), "counts_p99_ms")
		if err := q.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func p99ms(ds []time.Duration) float64 {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return float64(ds[len(ds)*99/100].Microseconds()) / 1000
}

// procStatusMB is a memory figure of /proc/self/status in MB (0 where
// there is none).
func procStatusMB(field string) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
