package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// TestCommittedRecords: a job read after a commit changed it is the
// record that commit wrote, without a decode; a deleted job is not found;
// a record evicted from the bound, or too big to hold, is read from the
// file; and every answer is what the file holds.
func TestCommittedRecords(t *testing.T) {
	ctx := context.Background()
	q := openTestQueue(t, filepath.Join(t.TempDir(), "q.db"))
	t0 := time.Unix(1000, 0)
	big := qjob("big", "t", model.Normal)
	big.Args = []byte(fmt.Sprintf("%q", strings.Repeat("x", maxCommittedRecordBytes)))
	if _, err := q.Insert(ctx, backend.InsertParams{Now: t0, Jobs: []*model.Job{qjob("a", "t", model.Normal), big}}); err != nil {
		t.Fatal(err)
	}
	got, err := q.Claim(ctx, backend.ClaimParams{Owner: "h", Limit: 1, Now: t0, Quota: map[string]int{"t": 1}})
	if err != nil || len(got) != 1 || got[0].ID != "a" {
		t.Fatalf("claim: %v %v", ids(got), err)
	}
	t1 := t0.Add(time.Second)
	if _, err := q.Finish(ctx, []backend.Finish{{ID: "a", Owner: "h", Attempt: 1, State: model.Completed, At: t1, Result: []byte(`{"n":1}`)}}); err != nil {
		t.Fatal(err)
	}
	// sameAsFile reads id through the port and from the file, and says
	// how many records the port's read decoded.
	sameAsFile := func(id string) int64 {
		t.Helper()
		before := q.s.jobDecodes.Load()
		j, err := q.Job(ctx, id)
		if err != nil {
			t.Fatalf("job %s: %v", id, err)
		}
		decodes := q.s.jobDecodes.Load() - before
		f, err := q.s.Job(id)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(f, j); d != "" {
			t.Errorf("job %s as read differs from the file (-file +read):\n%s", id, d)
		}
		return decodes
	}
	if n := sameAsFile("a"); n != 0 {
		t.Errorf("reading a job a commit just finished decoded %d records, want 0", n)
	}
	if j, _ := q.Job(ctx, "a"); j.State != model.Completed || string(j.Result) != `{"n":1}` {
		t.Errorf("a: %s %s, want completed with its result", j.State, j.Result)
	}
	// A reader's copy is its own.
	j, _ := q.Job(ctx, "a")
	j.State, j.Attempts[0].Owner = model.Failed, "x"
	sameAsFile("a")
	if n := sameAsFile("big"); n != 1 {
		t.Errorf("reading a job with big args decoded %d records, want 1 (not held)", n)
	}

	if _, err := q.Delete(ctx, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Job(ctx, "a"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("job a after its delete: %v, want not found", err)
	}

	// Past the bound the oldest records are read from the file again.
	var js []*model.Job
	for i := range maxCommittedRecords + 10 {
		js = append(js, qjob(fmt.Sprintf("j%05d", i), "t", model.Normal))
	}
	if _, err := q.Insert(ctx, backend.InsertParams{Now: t1, Jobs: js}); err != nil {
		t.Fatal(err)
	}
	if n := sameAsFile("j00000"); n != 1 {
		t.Errorf("reading the oldest of %d records committed decoded %d, want 1 (evicted)", len(js), n)
	}
	if n := sameAsFile(js[len(js)-1].ID); n != 0 {
		t.Errorf("reading the newest of %d records committed decoded %d, want 0", len(js), n)
	}
}
