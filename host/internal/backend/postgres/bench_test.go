package postgres

import (
	"context"
	"testing"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// BenchmarkJobLife measures one job's way through the store: inserted
// in batches of 100, claimed in batches of 10, finished in the claim's
// batch (a host's Step); the claims plain, or within a capacity as a
// host's are (its jobs declare no needs).
func BenchmarkJobLife(b *testing.B) {
	total := model.Resources{MilliCPU: 2000, MemoryMB: 1000}
	for _, c := range []struct {
		name     string
		capacity *backend.Capacity
	}{{"plain", nil}, {"capacity", &backend.Capacity{Free: total, Total: total}}} {
		b.Run(c.name, func(b *testing.B) { benchmarkJobLife(b, c.capacity) })
	}
}

func benchmarkJobLife(b *testing.B, capacity *backend.Capacity) {
	q := newBenchQueue(b, 0)
	b.ResetTimer()
	for done := 0; done < b.N; {
		q.insert(100)
		for {
			finished, claimed := q.step(10, capacity)
			done += finished
			if claimed == 0 {
				break
			}
		}
	}
}

// benchQueue is a fresh store that a benchmark fills with plain jobs and
// runs as one host does.
type benchQueue struct {
	b         *testing.B
	s         *Store
	maxQueued int
	n         int              // jobs inserted
	fs        []backend.Finish // the last step's claims, to finish
}

func newBenchQueue(b *testing.B, maxQueued int) *benchQueue {
	return &benchQueue{b: b, s: openStore(b, freshConfig(b, testDatabase(b))), maxQueued: maxQueued}
}

// insert stores size plain jobs in one call.
func (q *benchQueue) insert(size int) {
	batch := make([]*model.Job, size)
	for i := range batch {
		q.n++
		batch[i] = &model.Job{ID: testID(q.n), Task: "a.run", CreatedAt: sharedT0, MaxAttempts: 3}
	}
	if _, err := q.s.Insert(context.Background(), backend.InsertParams{Now: sharedT0, Jobs: batch, MaxQueued: q.maxQueued}); err != nil {
		q.b.Fatal(err)
	}
}

// step is a host's round of limit workers: one Step that finishes, as
// completed, what the last one claimed and claims again.
func (q *benchQueue) step(limit int, capacity *backend.Capacity) (finished, claimed int) {
	res, err := q.s.Step(context.Background(), backend.StepParams{Finish: q.fs,
		Claim: backend.ClaimParams{Owner: "h", Limit: limit, Now: sharedT0, Quota: map[string]int{"a.run": limit}, Capacity: capacity}})
	if err != nil {
		q.b.Fatal(err)
	}
	finished = len(q.fs)
	q.fs = q.fs[:0]
	for _, j := range res.Claimed {
		q.fs = append(q.fs, backend.Finish{ID: j.ID, Owner: "h", Attempt: j.Attempt, State: model.Completed, At: sharedT0})
	}
	return finished, len(res.Claimed)
}

// BenchmarkInsertPlain: SubmitMany's store half, 1,000 plain queued jobs
// a call under the host's default queue limit.
func BenchmarkInsertPlain(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, freshConfig(b, testDatabase(b)))
	n := 0
	b.ResetTimer()
	for range b.N {
		batch := make([]*model.Job, 1000)
		for i := range batch {
			n++
			batch[i] = &model.Job{ID: testID(n), Task: "a.run", Args: []byte(`{"ms":20}`), CreatedAt: sharedT0, MaxAttempts: 3}
		}
		if _, err := s.Insert(ctx, backend.InsertParams{Now: sharedT0, Jobs: batch, MaxQueued: 100000}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkInsertLarge: SubmitMany's store half for calls of 20,000
// plain jobs on a queue that began empty, as a fresh host's first big
// submit meets it.
func BenchmarkInsertLarge(b *testing.B) { benchmarkAfterGrowth(b, 20_000) }

// BenchmarkInsertOneAfterGrowth: single submits' store half once the
// queue holds 20,000 jobs more than when the connection first looked.
func BenchmarkInsertOneAfterGrowth(b *testing.B) { benchmarkAfterGrowth(b, 1) }

// benchmarkAfterGrowth measures inserts of size plain jobs a call. Single
// inserts come first, then one of 20,000 jobs, so that each connection's
// cached plans were made while the table was empty and its statistics
// still say so (autovacuum analyzes it within a minute at the earliest).
func benchmarkAfterGrowth(b *testing.B, size int) {
	q := newBenchQueue(b, 10_000_000)
	for range 20 {
		q.insert(1)
	}
	q.insert(20_000)
	b.ResetTimer()
	for range b.N {
		q.insert(size)
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "jobs/s")
}
