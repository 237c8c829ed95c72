package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// TestOldestReadyDuringCommitKeepsFreshJobs: a job queued by a commit
// still being written must not be dropped from the index by OldestReady
// (its snapshot does not have the job yet): it is still claimed after.
func TestOldestReadyDuringCommitKeepsFreshJobs(t *testing.T) {
	ctx := context.Background()
	q := openTestQueue(t, filepath.Join(t.TempDir(), "q.db"))
	now := time.Unix(1000, 0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // reads the oldest ready job, as a metrics scrape does
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = q.OldestReady(ctx, now)
		}
	}()
	const n = 40
	for i := range n {
		if _, err := q.Insert(ctx, backend.InsertParams{Now: now, Jobs: []*model.Job{qjob(fmt.Sprintf("j%03d", i), "t", model.Normal)}}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	got, err := q.Claim(ctx, backend.ClaimParams{Owner: "h", Limit: 2 * n, Now: now, Quota: map[string]int{"t": 2 * n}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("claimed %d of %d queued jobs: OldestReady dropped the others from the index", len(got), n)
	}
}
