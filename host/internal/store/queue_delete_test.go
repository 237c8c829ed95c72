package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// TestDeleteInOneCommitWithOtherWrites: a Delete that shares its
// transaction (group commit) with writes before and after it. A job
// finished earlier in the transaction, and a group that finish made done
// and the delete left empty, are changed records of the transaction: they
// must not be written back at its end. Later operations of the
// transaction must not find them (an insert that depends on the job or
// joins the group is refused), and a held job whose dependency was
// deleted counts it as completed when submitted.
func TestDeleteInOneCommitWithOtherWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	q := openTestQueue(t, path)
	now := time.Unix(1000, 0)
	grp := &model.Group{ID: "grp", Name: "g", CreatedAt: now}
	f, r := qjob("f", "t", model.Normal), qjob("r", "t", model.Normal)
	r.Group = "grp"
	held := qjob("h", "t", model.Normal, "f")
	mustInsert(t, q, backend.InsertParams{Now: now, Groups: []*model.Group{grp}, Jobs: []*model.Job{f, r}})
	mustInsert(t, q, backend.InsertParams{Now: now, Hold: true, Jobs: []*model.Job{held}})
	got, err := q.Claim(ctx, backend.ClaimParams{Owner: "h1", Limit: 2, Now: now, Quota: map[string]int{"t": 2}})
	if err != nil || len(got) != 2 {
		t.Fatalf("Claim = %v, %v; want f and r", ids(got), err)
	}
	if _, err := q.Finish(ctx, []backend.Finish{{ID: "f", Owner: "h1", Attempt: 1, State: model.Failed, At: now,
		Error: &model.JobError{Kind: "task_error", Message: "broke"}}}); err != nil {
		t.Fatal(err)
	}

	// Hold the writer inside a transaction, so that the operations below
	// queue up and run together in the next one, in the order queued.
	entered, release := make(chan struct{}), make(chan struct{})
	blocked := make(chan error, 1)
	go func() {
		blocked <- q.do(ctx, func(*wtx) error { close(entered); <-release; return nil })
	}()
	<-entered
	commits, _ := q.Commits()
	type result struct {
		what string
		err  error
	}
	results := make(chan result, 6)
	steps := []struct {
		what string
		run  func() error
	}{
		{"finish r", func() error {
			c, err := q.Finish(ctx, []backend.Finish{{ID: "r", Owner: "h1", Attempt: 1, State: model.Completed, At: now}})
			if err == nil && len(c.Skipped) > 0 {
				err = errors.New("skipped")
			}
			return err
		}},
		{"delete r and f", func() error {
			del, err := q.Delete(ctx, []string{"r", "f"})
			if err == nil && len(del) != 2 {
				err = fmt.Errorf("deleted %v", del)
			}
			return err
		}},
		{"submit h", func() error {
			_, err := q.Request(ctx, backend.Request{Kind: backend.RequestSubmit, ID: "h", Now: now})
			return err
		}},
		{"insert a dependent of r", func() error {
			_, err := q.Insert(ctx, backend.InsertParams{Now: now, Jobs: []*model.Job{qjob("x", "t", model.Normal, "r")}})
			return err
		}},
		{"insert a member of grp", func() error {
			j := qjob("y", "t", model.Normal)
			j.Group = "grp"
			_, err := q.Insert(ctx, backend.InsertParams{Now: now, Jobs: []*model.Job{j}})
			return err
		}},
		{"delete r again", func() error {
			_, err := q.Delete(ctx, []string{"r"})
			return err
		}},
	}
	for i, s := range steps {
		go func() { results <- result{s.what, s.run()} }()
		waitPending(t, q, i+1)
	}
	close(release)
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	errs := map[string]error{}
	for range steps {
		r := <-results
		errs[r.what] = r.err
	}
	for what, want := range map[string]error{
		"finish r": nil, "delete r and f": nil, "submit h": nil,
		"insert a dependent of r": backend.ErrNotFound, "insert a member of grp": backend.ErrNotFound, "delete r again": backend.ErrNotFound,
	} {
		if err := errs[what]; (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
	}
	if n, _ := q.Commits(); n != commits+2 {
		t.Fatalf("%d commits after the held one, want 2: the held one and one for all the operations", n-commits)
	}

	check := func(q *Queue, when string) {
		t.Helper()
		for _, id := range []string{"r", "f"} {
			if _, err := q.Job(ctx, id); !errors.Is(err, backend.ErrNotFound) {
				t.Errorf("%s: Job(%s) = %v, want ErrNotFound", when, id, err)
			}
		}
		if _, err := q.Group(ctx, "grp"); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("%s: Group(grp) = %v, want ErrNotFound (done, its one member deleted)", when, err)
		}
		if j, err := q.Job(ctx, "h"); err != nil || j.State != model.Queued {
			t.Errorf("%s: Job(h) = %+v, %v; want queued (its deleted dependency counts as completed)", when, j, err)
		}
		if c, err := q.Counts(ctx); err != nil || len(c.ByState()) != 1 || c.ByState()[model.Queued] != 1 {
			t.Errorf("%s: Counts = %v, %v; want h queued only", when, c, err)
		}
		if run, err := q.Running(ctx, nil); err != nil || len(run) != 0 {
			t.Errorf("%s: Running = %v, %v; want none", when, ids(run), err)
		}
		err := q.s.view(func(tx *bolt.Tx) error {
			bk := openBuckets(tx)
			for name, b := range map[string]*bolt.Bucket{"finished": bk.finished, "edges": bk.edges, "groups": bk.groups,
				"open": bk.open, "members": bk.members, "memberOf": bk.memberOf} {
				if k, _ := b.Cursor().First(); k != nil {
					t.Errorf("%s: bucket %s holds %q, want it empty", when, name, k)
				}
			}
			if n := bk.live.Stats().KeyN; n != 1 || bk.live.Get([]byte("h")) == nil {
				t.Errorf("%s: live index holds %d entries, want h only", when, n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check(q, "after the commit")
	q.Close()
	q = openTestQueue(t, path)
	check(q, "after reopening")
	if got, err := q.Claim(ctx, backend.ClaimParams{Owner: "h2", Limit: 5, Now: now, Quota: map[string]int{"t": 5}}); err != nil || len(got) != 1 || got[0].ID != "h" {
		t.Fatalf("Claim after reopening = %v, %v; want h", ids(got), err)
	}
}

func mustInsert(t *testing.T, q *Queue, p backend.InsertParams) {
	t.Helper()
	if _, err := q.Insert(context.Background(), p); err != nil {
		t.Fatalf("Insert: %v", err)
	}
}

// waitPending waits until n operations wait for the writer: the one just
// handed to it has been queued behind the others.
func waitPending(t *testing.T, q *Queue, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		q.mu.Lock()
		got := len(q.pending)
		q.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d operations wait for the writer after 10s, want %d", got, n)
		}
		runtime.Gosched()
	}
}
