package postgres

import (
	"context"
	"testing"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// BenchmarkJobLifeAfterGrowth: claims of 8 and their finishes in one
// Step, as a host of 8 workers makes them, on a queue that grew from
// empty to 100,000 jobs in a few seconds: the statements' cached plans
// were made while it was small (see growth).
func BenchmarkJobLifeAfterGrowth(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, freshConfig(b, testDatabase(b)))
	n := 0
	insert := func(size int) {
		batch := make([]*model.Job, size)
		for i := range batch {
			n++
			batch[i] = &model.Job{ID: testID(n), Task: "a.run", CreatedAt: sharedT0, MaxAttempts: 3}
		}
		if _, err := s.Insert(ctx, backend.InsertParams{Now: sharedT0, Jobs: batch, MaxQueued: 10_000_000}); err != nil {
			b.Fatal(err)
		}
	}
	quota := map[string]int{"a.run": 8}
	var fs []backend.Finish
	for range 20 {
		insert(8)
		for range 2 {
			res, err := s.Step(ctx, backend.StepParams{Finish: fs, Claim: backend.ClaimParams{Owner: "h", Limit: 8, Now: sharedT0, Quota: quota}})
			if err != nil {
				b.Fatal(err)
			}
			fs = fs[:0]
			for _, j := range res.Claimed {
				fs = append(fs, backend.Finish{ID: j.ID, Owner: "h", Attempt: j.Attempt, State: model.Completed, At: sharedT0})
			}
		}
	}
	for range 5 {
		insert(20_000)
	}
	b.ResetTimer()
	for done := 0; done < b.N; {
		res, err := s.Step(ctx, backend.StepParams{Finish: fs, Claim: backend.ClaimParams{Owner: "h", Limit: 8, Now: sharedT0, Quota: quota}})
		if err != nil {
			b.Fatal(err)
		}
		done += len(fs)
		fs = fs[:0]
		for _, j := range res.Claimed {
			fs = append(fs, backend.Finish{ID: j.ID, Owner: "h", Attempt: j.Attempt, State: model.Completed, At: sharedT0})
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}
