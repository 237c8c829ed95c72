package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// TestDeleteRemovesDamagedRecords: Delete by id removes a damaged job
// whatever state it was in (completed, running, queued), with its index
// entries, all or none; a purge passes damaged records over instead of
// failing. The counts still agree with lists, the damaged are counted
// down, and Check finds only the damaged records left, with no index
// entry naming a record that is gone.
func TestDeleteRemovesDamagedRecords(t *testing.T) {
	ctx := context.Background()
	path, damaged := damagedQueueFile(t)
	q, err := OpenQueue(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantCountsAsListed(t, q, 8, "after open")
	// All or none: a healthy queued job with them refuses the lot.
	if _, err := q.Delete(ctx, []string{damaged[0], damageID(10)}); !errors.Is(err, backend.ErrState) {
		t.Fatalf("delete of a damaged job with a queued one: %v, want ErrState", err)
	}
	if _, err := q.Job(ctx, damaged[0]); !errors.Is(err, ErrDamaged) {
		t.Fatalf("a refused delete removed %s: %v", damaged[0], err)
	}
	gone := []string{damaged[0], damaged[2], damaged[5]} // completed, running, queued
	if out, err := q.Delete(ctx, gone); err != nil || !slices.Equal(out, gone) {
		t.Fatalf("delete of damaged jobs: %v, %v", out, err)
	}
	for _, id := range gone {
		if _, err := q.Job(ctx, id); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("deleted damaged job %s: %v, want ErrNotFound", id, err)
		}
	}
	wantCountsAsListed(t, q, 5, "after the delete")
	// A purge of completed jobs takes the healthy ones and passes the
	// damaged one over.
	purged, err := q.Purge(ctx, backend.PurgeFilter{States: []model.State{model.Completed}, Limit: 100})
	if err != nil || len(purged) != 2 {
		t.Fatalf("purge past a damaged record: %v, %v; want the 2 healthy completed jobs", purged, err)
	}
	wantCountsAsListed(t, q, 5, "after the purge")
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Check(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, p := range r.Problems {
		if p.Bucket != "jobs" {
			t.Errorf("check: %s %s: %s", p.Bucket, p.Key, p.Problem)
		}
		left = append(left, string(p.Key))
	}
	slices.Sort(left)
	want := slices.DeleteFunc(slices.Clone(damaged), func(id string) bool { return slices.Contains(gone, id) })
	if !slices.Equal(left, want) {
		t.Errorf("check found %v damaged, want %v", left, want)
	}
	q, err = OpenQueue(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	wantCountsAsListed(t, q, 5, "after a reopen")
}

// TestDeleteDamagedRecordDropsItsIndexEntries: a damaged waiting job with
// an idempotency key, a dependency and a dependent is deleted with its
// key and both edges, whose owners the record can no longer say; Check
// then finds nothing, and the key can name a new job.
func TestDeleteDamagedRecordDropsItsIndexEntries(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "batchhost.db")
	q, err := OpenQueue(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := qjob(damageID(1), "docs.extract", model.Normal), qjob(damageID(2), "docs.extract", model.Normal, damageID(1)),
		qjob(damageID(3), "docs.extract", model.Normal, damageID(2))
	b.Key = "nightly-report"
	b.Args = []byte(`{"path":"/srv/inbox/letter.pdf","language":"english"}`)
	if _, err := q.Insert(ctx, backend.InsertParams{Now: time.Unix(1000, 0), Jobs: []*model.Job{a, b, c}}); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	flipInRecords(t, path, bJobs, []string{b.ID}, 5, false)
	q, err = OpenQueue(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantCountsAsListed(t, q, 1, "after open")
	if _, err := q.Delete(ctx, []string{b.ID}); err != nil {
		t.Fatalf("delete of a damaged waiting job: %v", err)
	}
	wantCountsAsListed(t, q, 0, "after the delete")
	if deps, err := q.Dependents(ctx, a.ID); err != nil || len(deps) != 0 {
		t.Errorf("dependents of %s after its dependent's delete: %v, %v", a.ID, deps, err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Check(path, 0)
	if err != nil || len(r.Problems) != 0 {
		t.Fatalf("check after the delete: %+v, %v", r, err)
	}
	q, err = OpenQueue(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	d := qjob(damageID(4), "docs.extract", model.Normal)
	d.Key = "nightly-report"
	res, err := q.Insert(ctx, backend.InsertParams{Now: time.Unix(2000, 0), Jobs: []*model.Job{d}})
	if err != nil || res.Jobs[0].Job.ID != d.ID {
		t.Fatalf("insert under the deleted job's key: %+v, %v", res, err)
	}
}
