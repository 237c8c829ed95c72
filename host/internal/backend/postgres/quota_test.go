package postgres

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// Rules of the port the conformance suite's model leaves out: plugin
// quotas, AnyTask, and the queue limit.

// TestClaimPluginQuotaAndAnyTask: a plugin's quota caps the claims
// across its tasks, in claim order; AnyTask claims tasks absent from the
// quota, capped by their plugin's quota too.
func TestClaimPluginQuotaAndAnyTask(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, freshConfig(t, testDatabase(t)))
	var jobs []*model.Job
	for i, task := range []string{"docs.extract", "docs.hash", "docs.extract", "exec.run", "other.x", "other.y", "docs.hash"} {
		jobs = append(jobs, &model.Job{ID: testID(i + 1), Task: task, CreatedAt: sharedT0})
	}
	if _, err := s.Insert(ctx, backend.InsertParams{Now: sharedT0, Jobs: jobs}); err != nil {
		t.Fatal(err)
	}
	claim := func(p backend.ClaimParams) []string {
		t.Helper()
		p.Owner, p.Now = "h", sharedT0
		js, err := s.Claim(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, j := range js {
			ids = append(ids, j.ID)
		}
		return ids
	}
	got := claim(backend.ClaimParams{Limit: 10, Quota: map[string]int{"docs.extract": 5, "docs.hash": 5, "exec.run": 5},
		PluginQuota: map[string]int{"docs": 2, "exec": 0}})
	if want := []string{testID(1), testID(2)}; !slices.Equal(got, want) {
		t.Errorf("claim with plugin docs capped at 2 and exec at 0 took %v, want %v (the first two docs jobs)", got, want)
	}
	got = claim(backend.ClaimParams{Limit: 10, AnyTask: 2, PluginQuota: map[string]int{"docs": 1}})
	if want := []string{testID(3), testID(4)}; !slices.Equal(got, want) {
		t.Errorf("claim with AnyTask 2 and docs capped at 1 took %v, want %v", got, want)
	}
	got = claim(backend.ClaimParams{Limit: 10, Quota: map[string]int{"other.x": 1}, AnyTask: 1})
	if want := []string{testID(5), testID(6)}; !slices.Equal(got, want) {
		t.Errorf("claim with other.x's quota and AnyTask 1 took %v, want %v", got, want)
	}
	if _, err := s.Claim(ctx, backend.ClaimParams{Owner: "h", Limit: 1, AnyTask: -1}); !errors.Is(err, backend.ErrInvalid) {
		t.Errorf("claim with a negative AnyTask: %v, want ErrInvalid", err)
	}
	if _, err := s.Claim(ctx, backend.ClaimParams{Owner: "h", Limit: 1, PluginQuota: map[string]int{"docs": -1}}); !errors.Is(err, backend.ErrInvalid) {
		t.Errorf("claim with a negative plugin quota: %v, want ErrInvalid", err)
	}
}

// TestMaxQueued: an insert or a request that would leave more than
// MaxQueued jobs queued is refused with ErrFull and changes nothing; one
// that queues nothing more is not.
func TestMaxQueued(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, freshConfig(t, testDatabase(t)))
	job := func(n int) *model.Job { return &model.Job{ID: testID(n), Task: "a.run", CreatedAt: sharedT0} }
	if _, err := s.Insert(ctx, backend.InsertParams{Now: sharedT0, MaxQueued: 2, Jobs: []*model.Job{job(1), job(2)}}); err != nil {
		t.Fatalf("insert up to the limit: %v", err)
	}
	if _, err := s.Insert(ctx, backend.InsertParams{Now: sharedT0, MaxQueued: 2, Jobs: []*model.Job{job(3)}}); !errors.Is(err, backend.ErrFull) {
		t.Errorf("insert past the limit: %v, want ErrFull", err)
	}
	if _, err := s.Job(ctx, testID(3)); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("a refused insert stored its job: %v", err)
	}
	if _, err := s.Insert(ctx, backend.InsertParams{Now: sharedT0, MaxQueued: 2, Hold: true, Jobs: []*model.Job{job(4)}}); err != nil {
		t.Errorf("a held insert at the limit: %v, want it stored (it queues nothing)", err)
	}
	if _, err := s.Request(ctx, backend.Request{Kind: backend.RequestSubmit, ID: testID(4), Now: sharedT0, MaxQueued: 2}); !errors.Is(err, backend.ErrFull) {
		t.Errorf("a submit past the limit: %v, want ErrFull", err)
	}
	if j, _ := s.Job(ctx, testID(4)); j == nil || j.State != model.Created {
		t.Errorf("a refused submit changed the job: %+v", j)
	}
}
