package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// TestLaneFailedCommit makes a commit fail (the file may not grow) while
// claims are decided in the lane and small writes wait for the next
// transaction: the lane's claims get the failure, and no write queued
// before the failure was known may succeed after it (the store is failed).
func TestLaneFailedCommit(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	q := openTestQueue(t, path)
	now := time.Unix(1000, 0)
	var small []*model.Job
	for i := 0; i < 200; i++ {
		small = append(small, qjob(fmt.Sprintf("s%04d", i), "t", model.Normal))
	}
	if _, err := q.Insert(ctx, backend.InsertParams{Now: now, Jobs: small}); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	q.s.db.MaxSize = int(info.Size())
	args := json.RawMessage(`"` + strings.Repeat("a", 4096) + `"`)
	var big []*model.Job
	for i := 0; i < 8000; i++ {
		j := qjob(fmt.Sprintf("b%05d", i), "other", model.Normal)
		j.Args = args
		big = append(big, j)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var laneErrs, okAfter, failed int
	handedVoid := 0
	stop := make(chan struct{})
	for c := 0; c < 2; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var early []*model.Job
				js, err := q.Claim(ctx, backend.ClaimParams{Owner: "h1", Limit: 1, Now: now, Quota: map[string]int{"t": 1},
					Applied: func(js []*model.Job) { early = append(early, js...) }})
				mu.Lock()
				if err != nil {
					laneErrs++
					handedVoid += len(early)
				} else if failed > 0 && len(js) > 0 {
					okAfter++
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	_, err = q.Insert(ctx, backend.InsertParams{Now: now, Jobs: big})
	mu.Lock()
	failed++
	mu.Unlock()
	close(stop)
	wg.Wait()
	if !errors.Is(err, backend.ErrFailed) {
		t.Fatalf("oversized insert: %v, want ErrFailed", err)
	}
	t.Logf("claims failed: %d (jobs handed out by them: %d), claims that succeeded after the failure was returned: %d", laneErrs, handedVoid, okAfter)
	if _, err := q.Claim(ctx, backend.ClaimParams{Owner: "h1", Limit: 1, Now: now, Quota: map[string]int{"t": 1}, Applied: func([]*model.Job) {}}); !errors.Is(err, backend.ErrFailed) {
		t.Errorf("claim after the failure: %v, want ErrFailed", err)
	}
}
