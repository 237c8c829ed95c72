package postgres

import "testing"

// BenchmarkJobLifeAfterGrowth: claims of 8 and their finishes in one
// Step, as a host of 8 workers makes them, on a queue that grew from
// empty to 100,000 jobs in a few seconds: the statements' cached plans
// were made while it was small (see growth).
func BenchmarkJobLifeAfterGrowth(b *testing.B) {
	q := newBenchQueue(b, 10_000_000)
	for range 20 {
		q.insert(8)
		q.step(8, nil)
		q.step(8, nil)
	}
	for range 5 {
		q.insert(20_000)
	}
	b.ResetTimer()
	for done := 0; done < b.N; {
		finished, _ := q.step(8, nil)
		done += finished
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}
