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

// TestLaneClaimsWhileCommitting claims with Applied while another caller
// keeps the writer committing, so that claims are decided in the lane
// (during a commit) and written first in the next transaction: every job
// is claimed once, what was handed over is what is stored, and the file
// reopens with every claim and completion in it.
func TestLaneClaimsWhileCommitting(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	q := openTestQueue(t, path)
	now := time.Unix(1000, 0)
	const n = 300
	jobs := make([]*model.Job, n)
	for i := range jobs {
		jobs[i] = qjob(fmt.Sprintf("j%03d", i), "t", model.Normal)
	}
	if _, err := q.Insert(ctx, backend.InsertParams{Now: now, Jobs: jobs}); err != nil {
		t.Fatal(err)
	}
	// A writer that keeps commits in flight: progress of a job that is
	// not running is dropped, but each call is a commit.
	stop := make(chan struct{})
	var busy sync.WaitGroup
	busy.Add(1)
	go func() {
		defer busy.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = q.Insert(ctx, backend.InsertParams{Now: now, Hold: true, Jobs: []*model.Job{qjob(fmt.Sprintf("h%d", time.Now().UnixNano()), "other", model.Normal)}})
		}
	}()
	handed := map[string]*model.Job{}
	claimed := 0
	for claimed < n {
		var early []*model.Job
		got, err := q.Claim(ctx, backend.ClaimParams{Owner: "h1", Limit: 3, Now: now, Quota: map[string]int{"t": 3},
			Applied: func(js []*model.Job) { early = append(early, js...) }})
		if err != nil {
			t.Fatal(err)
		}
		if len(early) != len(got) {
			t.Fatalf("Applied handed %d jobs, the claim answered %d", len(early), len(got))
		}
		var fs []backend.Finish
		for i, j := range got {
			if early[i].ID != j.ID || early[i].Attempt != j.Attempt {
				t.Fatalf("handed %s/%d, claimed %s/%d", early[i].ID, early[i].Attempt, j.ID, j.Attempt)
			}
			if handed[j.ID] != nil {
				t.Fatalf("job %s claimed twice", j.ID)
			}
			handed[j.ID] = j
			fs = append(fs, backend.Finish{ID: j.ID, Owner: "h1", Attempt: j.Attempt, State: model.Completed, At: now})
		}
		claimed += len(got)
		if _, err := q.Finish(ctx, fs); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	busy.Wait()
	if q.laneClaims.Load() == 0 {
		t.Fatalf("no claim was decided while a commit was written: the lane was not exercised")
	}
	for id, h := range handed {
		j, err := q.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != model.Completed || j.Attempt != h.Attempt || !j.StartedAt.Equal(h.StartedAt) || j.Owner != "" {
			t.Fatalf("job %s stored as %s attempt %d started %v; handed out attempt %d started %v", id, j.State, j.Attempt, j.StartedAt, h.Attempt, h.StartedAt)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q2 := openTestQueue(t, path)
	c, err := q2.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ByState()[model.Completed]; got != n {
		t.Fatalf("%d jobs completed after reopening, want %d", got, n)
	}
	t.Logf("%d of the claims were decided while a commit was written", q.laneClaims.Load())
}
