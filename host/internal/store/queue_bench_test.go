package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// BenchmarkQueueInsertParallel measures durable single-job inserts from
// many goroutines: group commit folds them into few fsyncs.
func BenchmarkQueueInsertParallel(b *testing.B) {
	q, err := OpenQueue(filepath.Join(b.TempDir(), "q.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	var n atomic.Int64
	ctx := context.Background()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("j%012d", n.Add(1))
			if _, err := q.Insert(ctx, backend.InsertParams{Jobs: []*model.Job{qjob(id, "t", model.Normal)}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	c, o := q.Commits()
	b.ReportMetric(float64(o)/float64(c), "ops/commit")
}

// BenchmarkQueueClaimFinish measures the dispatch path: claim up to 8,
// finish them, over a queue of b.N jobs.
func BenchmarkQueueClaimFinish(b *testing.B) {
	q, err := OpenQueue(filepath.Join(b.TempDir(), "q.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()
	jobs := make([]*model.Job, 0, 10000)
	for i := 0; i < b.N; i++ {
		jobs = append(jobs, qjob(fmt.Sprintf("j%012d", i), "t", model.Normal))
		if len(jobs) == cap(jobs) || i == b.N-1 {
			if _, err := q.Insert(ctx, backend.InsertParams{Jobs: jobs}); err != nil {
				b.Fatal(err)
			}
			jobs = jobs[:0]
		}
	}
	b.ResetTimer()
	done := 0
	for done < b.N {
		got, err := q.Claim(ctx, backend.ClaimParams{Owner: "h", Limit: 8, Now: time.Now(), Quota: map[string]int{"t": 8}})
		if err != nil || len(got) == 0 {
			b.Fatalf("claim: %d %v", len(got), err)
		}
		fs := make([]backend.Finish, len(got))
		for i, j := range got {
			fs[i] = backend.Finish{ID: j.ID, Owner: "h", Attempt: j.Attempt, State: model.Completed}
		}
		if _, err := q.Finish(ctx, fs); err != nil {
			b.Fatal(err)
		}
		done += len(got)
	}
}
