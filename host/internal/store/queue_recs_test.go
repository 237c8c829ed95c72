package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// TestRecordCache: a job claimed soon after it was queued is not decoded
// again, and a change made after it was queued (a pause and a resume) is
// what the claim sees, never the record cached at the insert.
func TestRecordCache(t *testing.T) {
	ctx := context.Background()
	q := openTestQueue(t, filepath.Join(t.TempDir(), "q.db"))
	t0 := time.Unix(1000, 0)
	if _, err := q.Insert(ctx, backend.InsertParams{Now: t0, Jobs: []*model.Job{qjob("a", "t", model.Normal), qjob("b", "t", model.Normal)}}); err != nil {
		t.Fatal(err)
	}
	before := q.s.jobDecodes.Load()
	got, err := q.Claim(ctx, backend.ClaimParams{Owner: "h", Limit: 1, Now: t0, Quota: map[string]int{"t": 1}})
	if err != nil || len(got) != 1 || got[0].ID != "a" {
		t.Fatalf("claim: %v %v", ids(got), err)
	}
	if n := q.s.jobDecodes.Load() - before; n != 0 {
		t.Errorf("claiming a job just queued decoded %d records, want 0", n)
	}
	t1, t2 := t0.Add(time.Second), t0.Add(2*time.Second)
	for _, r := range []backend.Request{{Kind: backend.RequestPause, ID: "b", Now: t1}, {Kind: backend.RequestResume, ID: "b", Now: t2}} {
		if _, err := q.Request(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err = q.Claim(ctx, backend.ClaimParams{Owner: "h", Limit: 1, Now: t2, Quota: map[string]int{"t": 1}})
	if err != nil || len(got) != 1 || got[0].ID != "b" {
		t.Fatalf("claim: %v %v", ids(got), err)
	}
	if !got[0].QueuedAt.Equal(t2) || got[0].Attempt != 1 {
		t.Errorf("claimed b queued at %v, attempt %d; want queued at the resume (%v), attempt 1", got[0].QueuedAt, got[0].Attempt, t2)
	}
	stored, err := q.Job(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if !stored.QueuedAt.Equal(got[0].QueuedAt) || stored.Attempt != got[0].Attempt || stored.State != model.Running {
		t.Errorf("stored b: %s attempt %d queued at %v; claimed: attempt %d queued at %v", stored.State, stored.Attempt, stored.QueuedAt, got[0].Attempt, got[0].QueuedAt)
	}
}
