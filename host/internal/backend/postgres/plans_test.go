package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// TestClaimAndNextRunAtRunOnCachedPlans: the statements the engine runs
// at every round are not planned again at every call. The server counts
// a prepared statement's custom and generic plans per connection
// (pg_prepared_statements); a store of one connection shows them all.
// Whether the server would plan the claim for its values without
// genericPlans depends on the data (here it does not; in a benchmark of
// three hosts it did at every call), so that part only holds the line.
// Written as min(run_at), NextRunAt was planned at every call once the
// table has statistics: that part fails without the rewrite.
func TestClaimAndNextRunAtRunOnCachedPlans(t *testing.T) {
	ctx := context.Background()
	cfg := freshConfig(t, testDatabase(t))
	cfg.PoolSize = 1
	s := openStore(t, cfg)
	const calls = 12
	insert := func(from, n int) {
		t.Helper()
		jobs := make([]*model.Job, n)
		for i := range jobs {
			jobs[i] = &model.Job{ID: testID(from + i), Task: "a.run", CreatedAt: sharedT0}
		}
		if _, err := s.Insert(ctx, backend.InsertParams{Now: sharedT0, Jobs: jobs}); err != nil {
			t.Fatal(err)
		}
	}
	plans := func(name, like string, most int) {
		t.Helper()
		var n, generic, custom int
		err := s.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0)
			FROM pg_prepared_statements WHERE statement LIKE $1`, like).Scan(&n, &generic, &custom)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || custom > most || generic+custom != calls {
			t.Errorf("%s: %d prepared statements, %d generic and %d custom plans over %d calls; want one statement, at most %d custom plans",
				name, n, generic, custom, calls, most)
		}
	}
	now := sharedT0.Add(time.Minute)

	insert(1, calls)
	for range calls {
		js, err := s.Claim(ctx, backend.ClaimParams{Owner: "h", Limit: 1, Now: now, Quota: map[string]int{"a.run": 1}})
		if err != nil || len(js) != 1 {
			t.Fatalf("Claim: %v %v", js, err)
		}
	}
	plans("the claim", "%cand AS MATERIALIZED%", 0)

	// A queue of some size, with statistics, as the planner sees a busy
	// one; the server plans 5 times for values before it weighs the
	// generic plan.
	insert(calls+1, 2000)
	if _, err := s.pool.Exec(ctx, "ANALYZE jobs"); err != nil {
		t.Fatal(err)
	}
	for range calls {
		if _, err := s.NextRunAt(ctx, now); err != nil {
			t.Fatal(err)
		}
	}
	plans("NextRunAt", "%state = 'queued' AND run_at > $1%", 5)
}
