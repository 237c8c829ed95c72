package engine

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/store"
)

// TestRetryBackoffWakesTheLoop: a failed attempt is retried after its
// backoff (200ms), not at the next poll tick (10s). The loop asks the store
// for its next wake right after a round, while the commit that queues the
// retry may still be written; that wake time must not be lost.
func TestRetryBackoffWakesTheLoop(t *testing.T) {
	for i := 0; i < 5; i++ {
		q, err := store.OpenQueue(filepath.Join(t.TempDir(), "q.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		obs := &events{states: map[string][]model.State{}, changed: make(chan struct{}, 1)}
		e := New(Config{Owner: "host-1", MaxWorkers: 2, PollInterval: 10 * time.Second, Clock: realClock{}, Observer: obs}, q, &fakeRunner{tasks: []string{"t.a"}})
		if err := e.Recover(context.Background()); err != nil {
			t.Fatal(err)
		}
		go e.Run()
		e.Start()
		j := job("t.a", model.Normal, fakeArgs{FailN: 1})
		j.Backoff = model.Backoff{Initial: 200 * time.Millisecond, Max: 200 * time.Millisecond, Multiplier: 1}
		start := time.Now()
		if _, err := e.Insert(context.Background(), backend.InsertParams{Jobs: []*model.Job{j}}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		got, err := e.WaitJob(ctx, j.ID)
		cancel()
		took := time.Since(start)
		stopCtx, c2 := context.WithCancel(context.Background())
		c2()
		_ = e.Stop(stopCtx, 5*time.Second)
		e.Close()
		_ = q.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got.State != model.Completed || got.Attempt != 2 {
			t.Fatalf("job %s attempt %d", got.State, got.Attempt)
		}
		if took > 3*time.Second {
			t.Fatalf("run %d: a retry with a 200ms backoff took %v: it waited for the poll tick", i, took)
		}
	}
}
