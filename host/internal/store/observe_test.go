package store

import (
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

// TestObserveCommits: each committed transaction is reported once to each
// observer, with the job records it wrote, before its callbacks run; an
// empty batch is no commit; a stopped observer hears nothing more.
func TestObserveCommits(t *testing.T) {
	s := openTest(t, Options{})
	type obs struct {
		latency time.Duration
		jobs    int
	}
	var a, b []obs // appended on the writer goroutine, read after a Commit returns
	stopA := s.ObserveCommits(func(l time.Duration, n int) { a = append(a, obs{l, n}) })
	stopB := s.ObserveCommits(func(l time.Duration, n int) { b = append(b, obs{l, n}) })

	batch := NewBatch()
	batch.PutJob(newJob(1, model.Queued))
	batch.PutJob(newJob(2, model.Queued))
	if err := s.Commit(batch); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(NewBatch()); err != nil {
		t.Fatal(err)
	}
	if len(a) != 1 || a[0].jobs != 2 || a[0].latency <= 0 {
		t.Fatalf("observer a saw %+v, want one commit of 2 jobs", a)
	}
	if len(b) != 1 {
		t.Fatalf("observer b saw %+v, want one commit", b)
	}
	stopA()
	stopA() // twice is harmless
	batch = NewBatch()
	batch.PutJob(newJob(3, model.Queued))
	if err := s.Commit(batch); err != nil {
		t.Fatal(err)
	}
	if len(a) != 1 || len(b) != 2 || b[1].jobs != 1 {
		t.Fatalf("after stopping a: a %+v, b %+v", a, b)
	}
	stopB()
}
