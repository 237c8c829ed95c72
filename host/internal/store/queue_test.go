package store

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

func openTestQueue(t *testing.T, path string) *Queue {
	t.Helper()
	q, err := OpenQueue(path, Options{})
	if err != nil {
		t.Fatalf("OpenQueue: %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func qjob(id, task string, p model.Priority, deps ...string) *model.Job {
	j := &model.Job{ID: id, Task: task, Priority: p, MaxAttempts: 3, CreatedAt: time.Unix(1, 0)}
	for _, d := range deps {
		j.DependsOn = append(j.DependsOn, model.Dep{ID: d, Policy: model.DepCancel})
	}
	return j
}

// TestQueueClaimOrderCascadeAndReopen walks the main path: priority then
// FIFO claims, a failure canceling its dependent, a success releasing one,
// and the ready index and running set rebuilt after a reopen.
func TestQueueClaimOrderCascadeAndReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	q := openTestQueue(t, path)
	now := time.Unix(1000, 0)
	ins, err := q.Insert(ctx, backend.InsertParams{Now: now, Jobs: []*model.Job{
		qjob("a1", "t", model.Normal), qjob("a2", "t", model.High), qjob("a3", "t", model.Normal),
		qjob("b1", "t", model.Critical, "a1"), qjob("b2", "t", model.Critical, "a3"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []model.State{model.Queued, model.Queued, model.Queued, model.Waiting, model.Waiting}
	for i, in := range ins.Jobs {
		if in.Job.State != want[i] {
			t.Fatalf("job %s: %s, want %s", in.Job.ID, in.Job.State, want[i])
		}
	}
	got, err := q.Claim(ctx, backend.ClaimParams{Owner: "h1", Limit: 2, Now: now, Quota: map[string]int{"t": 10}})
	if err != nil || len(got) != 2 || got[0].ID != "a2" || got[1].ID != "a1" {
		t.Fatalf("claim: %v %v", ids(got), err)
	}
	ch, err := q.Finish(ctx, []backend.Finish{
		{ID: "a1", Owner: "h1", Attempt: 1, State: model.Failed, Error: &model.JobError{Kind: "task_error", Message: "x"}},
		{ID: "a2", Owner: "other", Attempt: 1, State: model.Completed},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Skipped) != 1 || ch.Skipped[0] != "a2" {
		t.Fatalf("skipped %v, want a2 (wrong owner)", ch.Skipped)
	}
	if len(ch.Jobs) != 2 || ch.Jobs[1].ID != "b1" || ch.Jobs[1].State != model.Canceled || ch.Jobs[1].Error.Dependency != "a1" {
		t.Fatalf("changes: %+v", ch.Jobs)
	}
	q.Close()
	q = openTestQueue(t, path)
	run, _ := q.Running(ctx, []string{"h2"})
	if len(run) != 1 || run[0].ID != "a2" {
		t.Fatalf("running after reopen: %v", ids(run))
	}
	got, err = q.Claim(ctx, backend.ClaimParams{Owner: "h2", Limit: 5, Now: now, Quota: map[string]int{"t": 10}})
	if err != nil || len(got) != 1 || got[0].ID != "a3" {
		t.Fatalf("claim after reopen: %v %v", ids(got), err)
	}
	ch, err = q.Finish(ctx, []backend.Finish{{ID: "a3", Owner: "h2", Attempt: 1, State: model.Completed}})
	if err != nil || len(ch.Jobs) != 2 || ch.Jobs[1].ID != "b2" || ch.Jobs[1].State != model.Queued {
		t.Fatalf("release: %+v %v", ch.Jobs, err)
	}
	c, _ := q.Counts(ctx)
	bs := c.ByState()
	if bs[model.Queued] != 1 || bs[model.Running] != 1 || bs[model.Completed] != 1 || bs[model.Failed] != 1 || bs[model.Canceled] != 1 {
		t.Fatalf("counts %v", bs)
	}
	if _, err := q.Request(ctx, backend.Request{Kind: backend.RequestRetry, ID: "b2"}); !errors.Is(err, backend.ErrState) {
		t.Fatalf("retry of queued: %v", err)
	}
	rr, err := q.Request(ctx, backend.Request{Kind: backend.RequestRetry, ID: "a1"})
	if err != nil || rr.Job.State != model.Queued || len(rr.Changes.Jobs) != 2 || rr.Changes.Jobs[1].ID != "b1" || rr.Changes.Jobs[1].State != model.Waiting {
		t.Fatalf("retry re-arms b1: %+v %v", rr.Changes.Jobs, err)
	}
}

func ids(js []*model.Job) []string {
	var out []string
	for _, j := range js {
		out = append(out, j.ID)
	}
	return out
}

// A file of schema 1 (written before the Queue) is upgraded to the
// current schema when the Queue opens it, so that a batchhost knowing only
// schema 1 refuses it rather than write live entries of the old form into
// it; its jobs are all there and counted.
func TestOpenQueueUpgradesASchema1File(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	s := openAt(t, path, Options{})
	putJobs(t, s, newJob(1, model.Queued), newJob(2, model.Completed))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	asOldSchema(t, path, 1)
	q, err := OpenQueue(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := q.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ByState(); got[model.Queued] != 1 || got[model.Completed] != 1 {
		t.Errorf("counts after upgrade: %v", got)
	}
	var schema string
	if err := q.s.view(func(tx *bolt.Tx) error { schema = string(tx.Bucket(bMeta).Get(schemaKey)); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := strconv.Itoa(SchemaVersion); schema != want {
		t.Errorf("schema after OpenQueue = %q, want %s", schema, want)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
}
