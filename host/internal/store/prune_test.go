package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

func TestPrune(t *testing.T) {
	s := openTest(t, Options{})
	// Jobs 1..6 finish at t0+n seconds; 7 is live. Group "old" holds 1 and
	// 2 and is done; group "mixed" holds 3 and the live 7.
	commit(t, s, func(b *Batch) {
		for n := 1; n <= 6; n++ {
			j := newJob(n, model.States[5+n%3])
			j.Key = "key" + j.ID
			if n > 1 {
				j.DependsOn = []model.Dep{{ID: jobID(n - 1)}}
				b.AddEdge(jobID(n-1), j.ID, model.DepCancel)
			}
			switch n {
			case 1, 2:
				j.Group = "old"
				b.AddMember("old", n-1, j.ID)
			case 3:
				j.Group = "mixed"
				b.AddMember("mixed", 0, j.ID)
			}
			b.PutJob(j)
		}
		live := newJob(7, model.Waiting)
		live.Group = "mixed"
		live.DependsOn = []model.Dep{{ID: jobID(6)}}
		b.AddEdge(jobID(6), live.ID, model.DepCancel)
		b.AddMember("mixed", 1, live.ID)
		b.PutJob(live)
		b.PutGroup(&model.Group{ID: "old", Size: 2, Counts: map[model.State]int{model.Failed: 1, model.Canceled: 1}})
		b.PutGroup(&model.Group{ID: "mixed", Size: 2, Counts: map[model.State]int{model.Completed: 1, model.Waiting: 1}})
	})
	checkIndexes(t, s)

	// Limit 2 of the 4 finished before t0+5s: the two oldest.
	ids, err := s.Prune(t0.Add(5*time.Second), 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{jobID(1), jobID(2)}) {
		t.Errorf("pruned %v, want the two oldest", ids)
	}
	checkIndexes(t, s)
	for _, id := range ids {
		if _, err := s.Job(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("pruned job %s: %v", id, err)
		}
		if _, ok, _ := s.JobByKey("key" + id); ok {
			t.Errorf("key of pruned job %s still held", id)
		}
	}
	if deps, _ := s.Dependents(jobID(2)); len(deps) != 0 {
		t.Errorf("edges from pruned job 2 remain: %v", deps)
	}
	if _, err := s.Group("old"); !errors.Is(err, ErrNotFound) {
		t.Errorf("done group with no members left: %v, want it pruned", err)
	}

	// The rest before t0+5s: 3 and 4. Group "mixed" keeps its live member.
	ids, err = s.Prune(t0.Add(5*time.Second), 100)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{jobID(3), jobID(4)}) {
		t.Errorf("pruned %v, want jobs 3 and 4", ids)
	}
	checkIndexes(t, s)
	if m, err := s.Members("mixed"); err != nil || !slices.Equal(m, []string{jobID(7)}) {
		t.Errorf("members of mixed: %v %v, want only the live job", m, err)
	}
	// Edge 4→5 went with 4 (the dependency), 3→4 with either.
	if deps, _ := s.Dependents(jobID(4)); len(deps) != 0 {
		t.Errorf("edges of pruned job 4 remain: %v", deps)
	}
	if deps, _ := s.Dependents(jobID(5)); len(deps) != 1 {
		t.Errorf("edge 5 -> 6 was touched: %v", deps)
	}

	// Nothing else is old enough; the live job is never pruned.
	if ids, err := s.Prune(t0.Add(5*time.Second), 100); err != nil || len(ids) != 0 {
		t.Errorf("second prune: %v %v", ids, err)
	}
	ids, err = s.Prune(t0.Add(time.Hour), 100)
	if err != nil || !slices.Equal(ids, []string{jobID(5), jobID(6)}) {
		t.Errorf("final prune: %v %v", ids, err)
	}
	if deps, _ := s.Dependents(jobID(6)); len(deps) != 0 {
		t.Errorf("edge 6 -> 7 from a pruned job remains: %v", deps)
	}
	if _, err := s.Job(jobID(7)); err != nil {
		t.Errorf("live job: %v", err)
	}
	if _, err := s.Group("mixed"); err != nil {
		t.Errorf("group with a live member: %v", err)
	}
	c, _ := s.Counts()
	if c[model.Waiting] != 1 || c[model.Completed]+c[model.Failed]+c[model.Canceled] != 0 {
		t.Errorf("counts after pruning all finished jobs: %v", c)
	}
	checkIndexes(t, s)

	if _, err := s.Prune(t0, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("Prune with limit 0: %v, want ErrInvalid", err)
	}
}

// TestPruneKeepsRetriedJobs: a job retried after it finished is live again
// and its old finished-index entry is gone, so prune cannot touch it.
func TestPruneKeepsRetriedJobs(t *testing.T) {
	s := openTest(t, Options{})
	j := newJob(1, model.Failed)
	putJobs(t, s, j)
	j.State, j.FinishedAt = model.Queued, time.Time{}
	putJobs(t, s, j)
	if ids, err := s.Prune(t0.Add(time.Hour), 10); err != nil || len(ids) != 0 {
		t.Errorf("pruned a retried job: %v %v", ids, err)
	}
	checkIndexes(t, s)
}

// TestPruneDropsEdgesToThePrunedJob: a dependent canceled while its
// dependency still runs is pruned first; the dependency's reverse edge to it
// goes with it.
func TestPruneDropsEdgesToThePrunedJob(t *testing.T) {
	s := openTest(t, Options{})
	dep := newJob(1, model.Running)
	gone := newJob(2, model.Canceled)
	gone.DependsOn = []model.Dep{{ID: dep.ID, Policy: model.DepIgnore}}
	stays := newJob(3, model.Waiting)
	stays.DependsOn = []model.Dep{{ID: dep.ID}}
	commit(t, s, func(b *Batch) {
		b.PutJob(dep)
		b.PutJob(gone)
		b.PutJob(stays)
		b.AddEdge(dep.ID, gone.ID, model.DepIgnore)
		b.AddEdge(dep.ID, stays.ID, model.DepCancel)
	})
	if ids, err := s.Prune(t0.Add(time.Hour), 10); err != nil || !slices.Equal(ids, []string{gone.ID}) {
		t.Fatalf("pruned %v %v", ids, err)
	}
	deps, err := s.Dependents(dep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(deps, []model.Dep{{ID: stays.ID, Policy: model.DepCancel}}) {
		t.Errorf("dependents %+v, want only the job that is still stored", deps)
	}
}

// TestPruneKeepsTheGroupOfASchedule: a schedule adds each run to its
// template's group, so pruning the group's last old member must leave the
// group for the next run; once the schedule is gone, the group goes too.
func TestPruneKeepsTheGroupOfASchedule(t *testing.T) {
	s := openTest(t, Options{})
	commit(t, s, func(b *Batch) {
		for n, g := range []string{"nightly", "other"} {
			j := newJob(n+1, model.Completed)
			j.Group = g
			b.AddMember(g, 0, j.ID)
			b.PutJob(j)
			b.PutGroup(&model.Group{ID: g, Size: 1, Counts: map[model.State]int{model.Completed: 1}})
		}
		b.PutSchedule(&model.Schedule{ID: "s1", Name: "n", Spec: "@daily", Template: model.JobTemplate{Task: "a.b", Group: "nightly"}})
	})
	if ids, err := s.Prune(t0.Add(time.Hour), 10); err != nil || len(ids) != 2 {
		t.Fatalf("pruned %v %v, want both jobs", ids, err)
	}
	if _, err := s.Group("nightly"); err != nil {
		t.Errorf("the schedule's group was pruned: %v", err)
	}
	if _, err := s.Group("other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a group no schedule names: %v, want it pruned", err)
	}
	checkIndexes(t, s)
}
