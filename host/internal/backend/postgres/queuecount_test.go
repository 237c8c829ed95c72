package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

// checkQueueCount fails the test when the kept count of queued jobs (the
// sum of queue_counts, what MaxQueued is checked against) is not the
// count of the queued rows.
func checkQueueCount(t *testing.T, cfg Config, when string) {
	t.Helper()
	ctx := context.Background()
	conn := testConn(t, cfg)
	var kept, counted int
	if err := conn.QueryRow(ctx, `SELECT (SELECT coalesce(sum(queued), 0) FROM queue_counts),
		(SELECT count(*) FROM jobs WHERE state = 'queued')`).Scan(&kept, &counted); err != nil {
		t.Fatal(err)
	}
	if kept != counted {
		t.Errorf("%s: the kept queue count is %d, the queue holds %d", when, kept, counted)
	}
}

// TestQueueCountFollowsEveryChange: every write that queues a job or
// takes one out of the queue moves the kept count with it, from two
// stores (two sets of server processes); folding the counts of ended
// processes keeps the sum.
func TestQueueCountFollowsEveryChange(t *testing.T) {
	ctx := context.Background()
	cfg := freshConfig(t, testDatabase(t))
	a, b := openStore(t, cfg), openStore(t, cfg)
	n := 0
	job := func(mod func(*model.Job)) *model.Job {
		n++
		j := &model.Job{ID: testID(n), Task: "a.run", CreatedAt: sharedT0, MaxAttempts: 2}
		if mod != nil {
			mod(j)
		}
		return j
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		checkQueueCount(t, cfg, what)
	}
	plain := []*model.Job{job(nil), job(nil), job(nil), job(nil), job(nil)}
	_, err := a.Insert(ctx, backend.InsertParams{Now: sharedT0, Jobs: plain, MaxQueued: 100})
	must("insert of plain jobs", err)
	dependent := job(func(j *model.Job) { j.DependsOn = []model.Dep{{ID: plain[0].ID, Policy: model.DepCancel}} })
	keyed := job(func(j *model.Job) { j.Key = "k" })
	_, err = b.Insert(ctx, backend.InsertParams{Now: sharedT0, Jobs: []*model.Job{dependent, keyed}, MaxQueued: 100})
	must("insert of a dependent and a keyed job", err)
	held := job(nil)
	_, err = a.Insert(ctx, backend.InsertParams{Now: sharedT0, Hold: true, Jobs: []*model.Job{held}})
	must("held insert", err)
	_, err = b.Request(ctx, backend.Request{Kind: backend.RequestSubmit, ID: held.ID, Now: sharedT0, MaxQueued: 100})
	must("submit of the held job", err)
	_, err = a.Request(ctx, backend.Request{Kind: backend.RequestPause, ID: plain[4].ID, Now: sharedT0})
	must("pause", err)
	_, err = b.Request(ctx, backend.Request{Kind: backend.RequestResume, ID: plain[4].ID, Now: sharedT0, MaxQueued: 100})
	must("resume", err)
	_, err = a.Request(ctx, backend.Request{Kind: backend.RequestCancel, ID: plain[3].ID, Now: sharedT0})
	must("cancel of a queued job", err)
	claimed, err := b.Claim(ctx, backend.ClaimParams{Owner: "h", Limit: 3, Now: sharedT0, Quota: map[string]int{"a.run": 3}})
	must("claim", err)
	if len(claimed) != 3 {
		t.Fatalf("claimed %d jobs, want 3", len(claimed))
	}
	fin := func(j *model.Job, st model.State) backend.Finish {
		f := backend.Finish{ID: j.ID, Owner: "h", Attempt: j.Attempt, State: st, At: sharedT0}
		if st != model.Completed {
			f.Error = &model.JobError{Kind: errkind.TaskError, Message: "broke", Retryable: st == model.Queued}
		}
		return f
	}
	_, err = a.Finish(ctx, []backend.Finish{fin(claimed[0], model.Completed), fin(claimed[1], model.Queued), fin(claimed[2], model.Failed)})
	must("finish: completed (releasing a dependent), retried, failed", err)
	_, err = b.Request(ctx, backend.Request{Kind: backend.RequestRetry, ID: claimed[2].ID, Now: sharedT0, MaxQueued: 100})
	must("retry of the failed job", err)
	_, err = a.Delete(ctx, []string{plain[3].ID})
	must("delete of the canceled job", err)
	_, err = b.Prune(ctx, sharedT0.Add(time.Hour), 10)
	must("prune", err)
	_, err = a.Insert(ctx, backend.InsertParams{Now: sharedT0, MaxQueued: 1, Jobs: []*model.Job{job(nil)}})
	if !isPortRefusal(err) {
		t.Errorf("an insert past a limit the queue already passes: %v, want ErrFull", err)
	}
	checkQueueCount(t, cfg, "a refused insert")

	// b's server processes end; a's prune folds their rows into row 0.
	b.Close()
	var live int
	for range 100 {
		if err := a.pool.QueryRow(ctx, `SELECT count(*) FROM queue_counts WHERE pid <> 0
			AND pid NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)`).Scan(&live); err != nil {
			t.Fatal(err)
		}
		if live > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond) // a closed connection's process ends soon after
	}
	if live == 0 {
		t.Fatal("no row of an ended server process to fold: b's rows never showed as ended")
	}
	_, err = a.PruneHosts(ctx, sharedT0)
	must("fold", err)
	var rows int
	if err := a.pool.QueryRow(ctx, `SELECT count(*) FROM queue_counts WHERE pid <> 0
		AND pid NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("after the fold %d rows of ended processes are left (%v)", rows, err)
	}
}
