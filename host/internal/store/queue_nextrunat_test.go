package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// TestNextRunAtDuringCommitKeepsDelayedJobs: a delayed job is put into the
// ready index (and its delayed heap) before the commit that queues it is
// durable (indexReady). NextRunAt, called meanwhile, checks the delayed
// heap's head against the committed file, finds no such queued record, and
// drops the entry for good: after the insert returned, NextRunAt no longer
// names the job's run-at, so the engine's timer is never set for it (it
// runs at the next poll tick instead).
func TestNextRunAtDuringCommitKeepsDelayedJobs(t *testing.T) {
	ctx := context.Background()
	q := openTestQueue(t, filepath.Join(t.TempDir(), "q.db"))
	now := time.Unix(1000, 0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads atomic.Int64
	wg.Add(1)
	go func() { // a loop asking for its next wake, as the engine does after each round
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = q.NextRunAt(ctx, now)
			reads.Add(1)
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	const n = 40
	for i := 0; i < n; i++ {
		// Each job is due before every earlier one: it becomes the next wake.
		runAt := now.Add(time.Duration(n-i) * time.Hour)
		j := qjob(fmt.Sprintf("d%03d", i), "t", model.Normal)
		j.RunAt = runAt
		if _, err := q.Insert(ctx, backend.InsertParams{Now: now, Jobs: []*model.Job{j}}); err != nil {
			t.Fatal(err)
		}
		got, err := q.NextRunAt(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(runAt) {
			t.Fatalf("insert %d: NextRunAt = %v after the insert of a job due at %v (%d concurrent reads so far)", i, got, runAt, reads.Load())
		}
	}
}
