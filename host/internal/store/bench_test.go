package store

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

// Benchmarks measure durable commits (fsync on) unless named otherwise.
// Run them with:
//
//	go test -run '^$' -bench . -count 5 ./host/internal/store
//
// and report medians.

func BenchmarkCommitSingle(b *testing.B) {
	for _, mode := range freelistModes {
		b.Run(mode.name, func(b *testing.B) {
			defer mode.set()()
			s := openTest(b, Options{})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batch := NewBatch()
				batch.PutJob(newJob(i, model.Queued))
				if err := s.Commit(batch); err != nil {
					b.Fatal(err)
				}
			}
			reportJobs(b, b.N)
		})
	}
}

// BenchmarkCommitSingleFragmented is CommitSingle on a file with many free
// pages (100k jobs written, then pruned), where a synced freelist is
// largest.
func BenchmarkCommitSingleFragmented(b *testing.B) {
	for _, mode := range freelistModes {
		b.Run(mode.name, func(b *testing.B) {
			defer mode.set()()
			path := fixture(b, "fragmented-"+mode.name, func(s *Store) {
				fill(b, s, 100_000, 0)
				for {
					ids, err := s.Prune(t0.Add(1000*time.Hour), 10_000)
					if err != nil {
						b.Fatal(err)
					}
					if len(ids) == 0 {
						break
					}
				}
			})
			s := openAt(b, copyFile(b, path), Options{})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batch := NewBatch()
				batch.PutJob(newJob(1_000_000+i, model.Queued))
				if err := s.Commit(batch); err != nil {
					b.Fatal(err)
				}
			}
			reportJobs(b, b.N)
		})
	}
}

// BenchmarkCommitGroup: 64 goroutines, each committing one job per batch
// and waiting for it, as 64 workers reporting outcomes would. Group commit
// shows as batches/tx > 1.
func BenchmarkCommitGroup(b *testing.B) {
	const workers = 64
	s := openTest(b, Options{})
	var next sync.Mutex
	n := 0
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				i := n
				n++
				next.Unlock()
				if i >= b.N {
					return
				}
				batch := NewBatch()
				batch.PutJob(newJob(i, model.Running))
				if err := s.Commit(batch); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	reportJobs(b, b.N)
	st := s.Stats()
	b.ReportMetric(float64(st.Batches)/float64(max(st.Transactions, 1)), "batches/tx")
}

// BenchmarkCommitMany: one batch of 1000 new jobs, built (encoded) and
// committed, as SubmitMany does.
func BenchmarkCommitMany(b *testing.B) {
	const size = 1000
	s := openTest(b, Options{})
	jobs := make([]*model.Job, size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range jobs {
			jobs[k] = newJob(i*size+k, model.Queued)
			jobs[k].Key = "key-" + jobs[k].ID
		}
		batch := NewBatch()
		for _, j := range jobs {
			batch.PutJob(j)
		}
		if err := s.Commit(batch); err != nil {
			b.Fatal(err)
		}
	}
	reportJobs(b, b.N*size)
}

// BenchmarkLoad: start-up read of a store with 100k finished and 1k live
// jobs.
func BenchmarkLoad(b *testing.B) {
	path := fixture(b, "load", func(s *Store) { fill(b, s, 100_000, 1000) })
	s := openAt(b, path, Options{})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		snap, err := s.Load()
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.Jobs) != 1000 {
			b.Fatalf("loaded %d jobs", len(snap.Jobs))
		}
	}
}

// BenchmarkOpen: Open and Close of a store with 100k finished and 1k live
// jobs, with the freelist synced (the setting used) and rebuilt at open
// (bbolt's NoFreelistSync).
func BenchmarkOpen(b *testing.B) {
	for _, mode := range freelistModes {
		b.Run(mode.name, func(b *testing.B) {
			defer mode.set()()
			path := fixture(b, "open-"+mode.name, func(s *Store) { fill(b, s, 100_000, 1000) })
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s, err := Open(path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var freelistModes = []struct {
	name string
	set  func() (restore func())
}{
	{"freelist=synced", func() func() { old := noFreelistSync; noFreelistSync = false; return func() { noFreelistSync = old } }},
	{"freelist=rebuilt", func() func() { old := noFreelistSync; noFreelistSync = true; return func() { noFreelistSync = old } }},
}

func reportJobs(b *testing.B, jobs int) {
	b.ReportMetric(float64(jobs)/b.Elapsed().Seconds(), "jobs/s")
}

// fill commits finished and live jobs in batches of 10,000 (no fsync).
func fill(b *testing.B, s *Store, finished, live int) {
	b.Helper()
	for start := 0; start < finished+live; start += 10_000 {
		batch := NewBatch()
		for i := start; i < min(start+10_000, finished+live); i++ {
			st := model.States[5+i%3]
			if i >= finished {
				st = model.States[i%5]
			}
			j := newJob(i, st)
			j.Key = "key-" + j.ID
			batch.PutJob(j)
		}
		if err := s.Commit(batch); err != nil {
			b.Fatal(err)
		}
	}
}

var (
	fixtureMu  sync.Mutex
	fixtures   = map[string]string{}
	fixtureDir string
)

// fixture builds a store file once per test binary run and returns its path.
func fixture(b *testing.B, name string, build func(s *Store)) string {
	b.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if p, ok := fixtures[name]; ok {
		return p
	}
	if fixtureDir == "" {
		d, err := os.MkdirTemp("", "store-bench-")
		if err != nil {
			b.Fatal(err)
		}
		fixtureDir = d
	}
	path := filepath.Join(fixtureDir, name+".db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	build(s)
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	fixtures[name] = path
	return path
}

func copyFile(b *testing.B, src string) string {
	b.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		b.Fatal(err)
	}
	dst := filepath.Join(b.TempDir(), fmt.Sprintf("copy-%d.db", time.Now().UnixNano()))
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		b.Fatal(err)
	}
	return dst
}
