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

// TestSequentialGroupAcrossHosts: members added to one sequential group
// by two hosts at once form one chain in add order, and claiming from
// both hosts never runs two of them at once.
func TestSequentialGroupAcrossHosts(t *testing.T) {
	ctx := context.Background()
	cfg := freshConfig(t, testDatabase(t))
	hosts := []*Store{openStore(t, cfg), openStore(t, cfg)}
	g := &model.Group{ID: testID(1000), Name: "seq", Sequential: true, CreatedAt: sharedT0}
	if _, err := hosts[0].Insert(ctx, backend.InsertParams{Now: sharedT0, Groups: []*model.Group{g}}); err != nil {
		t.Fatal(err)
	}
	const perHost = 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*perHost)
	for h, s := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perHost {
				j := &model.Job{ID: testID(1 + h*perHost + i), Task: "a.run", Group: g.ID, CreatedAt: sharedT0}
				if _, err := s.Insert(ctx, backend.InsertParams{Now: sharedT0, Jobs: []*model.Job{j}}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	members, err := hosts[0].Members(ctx, g.ID)
	if err != nil || len(members) != 2*perHost {
		t.Fatalf("Members = %v, %v; want %d", members, err, 2*perHost)
	}
	for i, id := range members[1:] {
		j, err := hosts[0].Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(j.DependsOn) != 1 || j.DependsOn[0].ID != members[i] {
			t.Fatalf("member %d (%s) depends on %v, want the member added before it, %s", i+2, id, j.DependsOn, members[i])
		}
	}
	for done := 0; done < len(members); {
		var running []*model.Job
		for h, s := range hosts {
			js, err := s.Claim(ctx, backend.ClaimParams{Owner: fmt.Sprintf("host-%d", h), Limit: 5, Now: sharedT0, Quota: map[string]int{"a.run": 5}})
			if err != nil {
				t.Fatal(err)
			}
			running = append(running, js...)
		}
		if len(running) != 1 || running[0].ID != members[done] {
			t.Fatalf("after %d completions the hosts claimed %d members (%v), want exactly the next one, %s", done, len(running), running, members[done])
		}
		j := running[0]
		if _, err := hosts[0].Finish(ctx, []backend.Finish{{ID: j.ID, Owner: j.Owner, Attempt: j.Attempt, State: model.Completed, At: sharedT0}}); err != nil {
			t.Fatal(err)
		}
		done++
	}
}
