package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// Tests of what only a queue shared by several hosts shows: one host's
// commit wakes the others, and races between hosts lose no release.

var sharedT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testID(n int) string { return fmt.Sprintf("00000000-0000-7000-8000-%012x", n) }

// TestChangedAcrossHosts: a job queued through one store signals
// Changed on another store of the same schema (LISTEN/NOTIFY), and a
// store of another schema is not woken by it.
func TestChangedAcrossHosts(t *testing.T) {
	ctx := context.Background()
	cfg := freshConfig(t, testDatabase(t))
	a, b := openStore(t, cfg), openStore(t, cfg)
	drain := func(s *Store) {
		for {
			select {
			case <-s.Changed():
			default:
				return
			}
		}
	}
	drain(b)
	if _, err := a.Insert(ctx, backend.InsertParams{Now: sharedT0, Jobs: []*model.Job{{ID: testID(1), Task: "a.run", CreatedAt: sharedT0}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.Changed():
	case <-time.After(10 * time.Second):
		t.Fatal("a job queued through one host did not signal Changed on another host of the same queue")
	}
}

// TestNoLostRelease: dependents inserted while their dependency
// finishes on another host are all released: each insert either sees
// the dependency completed or is seen by the finish's cascade.
func TestNoLostRelease(t *testing.T) {
	ctx := context.Background()
	cfg := freshConfig(t, testDatabase(t))
	host1, host2 := openStore(t, cfg), openStore(t, cfg)
	const rounds, dependents = 20, 8
	n := 0
	for round := range rounds {
		n++
		dep := &model.Job{ID: testID(n), Task: "a.run", CreatedAt: sharedT0}
		if _, err := host1.Insert(ctx, backend.InsertParams{Now: sharedT0, Jobs: []*model.Job{dep}}); err != nil {
			t.Fatal(err)
		}
		js, err := host1.Claim(ctx, backend.ClaimParams{Owner: "host-1", Limit: 1, Now: sharedT0, Quota: map[string]int{"a.run": 1}})
		if err != nil || len(js) != 1 {
			t.Fatalf("round %d: claim: %v, %v", round, js, err)
		}
		var ids []string
		for range dependents {
			n++
			ids = append(ids, testID(n))
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, dependents+1)
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				j := &model.Job{ID: id, Task: "b.run", CreatedAt: sharedT0, DependsOn: []model.Dep{{ID: dep.ID, Policy: model.DepCancel}}}
				if _, err := host2.Insert(ctx, backend.InsertParams{Now: sharedT0, Jobs: []*model.Job{j}}); err != nil {
					errs <- err
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c, err := host1.Finish(ctx, []backend.Finish{{ID: dep.ID, Owner: "host-1", Attempt: 1, State: model.Completed, At: sharedT0}})
			if err == nil && len(c.Skipped) > 0 {
				err = fmt.Errorf("finish skipped")
			}
			if err != nil {
				errs <- err
			}
		}()
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		for _, id := range ids {
			j, err := host1.Job(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.State != model.Queued {
				t.Fatalf("round %d: dependent %s of a completed job is %s, want queued (a lost release)", round, id, j.State)
			}
		}
	}
}
