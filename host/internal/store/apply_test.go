package store

import (
	"errors"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

func TestCountsCoverEveryState(t *testing.T) {
	if len(counts{}) != len(model.States) {
		t.Fatalf("counts record holds %d states, the model has %d", len(counts{}), len(model.States))
	}
}

// TestIndexesFollowALifecycle walks one job through new → queued → running
// → failed → (manual retry) queued → completed, checking each index step.
func TestIndexesFollowALifecycle(t *testing.T) {
	s := openTest(t, Options{})
	j := newJob(1, model.Created)
	j.Key = "invoice-42"
	steps := []struct {
		state    model.State
		finished time.Time
	}{
		{model.Created, time.Time{}},
		{model.Queued, time.Time{}},
		{model.Running, time.Time{}},
		{model.Failed, t0.Add(time.Minute)},
		{model.Failed, t0.Add(2 * time.Minute)}, // rewritten with a new finish time
		{model.Queued, time.Time{}},             // manual retry
		{model.Completed, t0.Add(time.Hour)},
	}
	for _, st := range steps {
		j.State, j.FinishedAt = st.state, st.finished
		putJobs(t, s, j)
		checkIndexes(t, s)
		c, err := s.Counts()
		if err != nil {
			t.Fatal(err)
		}
		for _, state := range model.States {
			want := 0
			if state == st.state {
				want = 1
			}
			if c[state] != want {
				t.Errorf("after %s: counts[%s] = %d, want %d", st.state, state, c[state], want)
			}
		}
		snap, err := s.Load()
		if err != nil {
			t.Fatal(err)
		}
		if live := len(snap.Jobs) == 1; live != st.state.Live() {
			t.Errorf("after %s: Load returned %d jobs", st.state, len(snap.Jobs))
		}
		if id, ok, err := s.JobByKey("invoice-42"); err != nil || !ok || id != j.ID {
			t.Errorf("after %s: JobByKey = %q %v %v", st.state, id, ok, err)
		}
	}
	// A second job with the same key does not take it over.
	other := newJob(2, model.Queued)
	other.Key = "invoice-42"
	putJobs(t, s, other)
	if id, _, _ := s.JobByKey("invoice-42"); id != j.ID {
		t.Errorf("key moved to %s", id)
	}
	if _, ok, _ := s.JobByKey("no-such-key"); ok {
		t.Error("JobByKey found an unknown key")
	}
}

// TestRandomHistoriesKeepIndexesConsistent applies random transitions in
// random groupings (several puts of one job per batch, several batches per
// transaction) and checks every index against a recount after each round.
func TestRandomHistoriesKeepIndexesConsistent(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	rng := rand.New(rand.NewSource(42))
	jobs := map[int]*model.Job{}
	next := 0
	pick := func() *model.Job {
		if len(jobs) == 0 || rng.Intn(4) == 0 {
			j := newJob(next, model.Created)
			if rng.Intn(3) == 0 {
				j.Key = "key-" + j.ID
			}
			jobs[next] = j
			next++
			return j
		}
		return jobs[rng.Intn(next)]
	}
	for round := 0; round < 40; round++ {
		var batches []*Batch
		for b := 0; b < 1+rng.Intn(5); b++ {
			batch := NewBatch()
			for p := 0; p < 1+rng.Intn(20); p++ {
				j := pick()
				j.State = model.States[rng.Intn(len(model.States))]
				j.FinishedAt = time.Time{}
				if j.State.Terminal() {
					j.FinishedAt = t0.Add(time.Duration(rng.Intn(1000)) * time.Second)
				}
				batch.PutJob(j)
			}
			batches = append(batches, batch)
		}
		for _, b := range batches[:len(batches)-1] {
			s.Submit(b)
		}
		if err := s.Commit(batches[len(batches)-1]); err != nil {
			t.Fatal(err)
		}
		checkIndexes(t, s)
		if t.Failed() {
			t.Fatalf("round %d", round)
		}
	}
	// The store holds exactly the last version of each job.
	for _, want := range jobs {
		got, err := s.Job(want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != want.State || !got.FinishedAt.Equal(want.FinishedAt) {
			t.Errorf("job %s: stored %s/%v, last put %s/%v", want.ID, got.State, got.FinishedAt, want.State, want.FinishedAt)
		}
	}
}

func TestTerminalJobWithoutFinishTimeIsRecordedAtNow(t *testing.T) {
	now := t0.Add(42 * time.Hour)
	clock := func() time.Time { return now }
	s := openTest(t, Options{Now: clock})
	j := newJob(1, model.Canceled)
	j.FinishedAt = time.Time{}
	putJobs(t, s, j)
	now = now.Add(time.Minute)
	putJobs(t, s, j) // rewritten later: the index must follow the record
	checkIndexes(t, s)
	got, err := s.Job(j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.FinishedAt.Equal(now) {
		t.Errorf("stored finished_at %v, want %v", got.FinishedAt, now)
	}
	if ids, err := s.Prune(now, 10); err != nil || len(ids) != 0 {
		t.Errorf("pruned before its stand-in finish time: %v %v", ids, err)
	}
	if ids, err := s.Prune(now.Add(time.Nanosecond), 10); err != nil || len(ids) != 1 {
		t.Errorf("not pruned after its stand-in finish time: %v %v", ids, err)
	}
}

func TestMembershipAndOpenGroups(t *testing.T) {
	s := openTest(t, Options{})
	g := &model.Group{ID: "g1", Name: "batch", Sequential: true, Counts: map[model.State]int{}}
	commit(t, s, func(b *Batch) {
		for i := 0; i < 3; i++ {
			j := newJob(10-i, model.Queued) // ids decrease while positions increase
			j.Group = g.ID
			b.PutJob(j)
			b.AddMember(g.ID, i, j.ID)
			g.Size++
			g.Counts[model.Queued]++
		}
		b.PutGroup(g)
		b.AddEdge(jobID(10), jobID(9), model.DepCancel)
		b.AddEdge(jobID(10), jobID(8), model.DepIgnore)
	})
	checkIndexes(t, s)
	members, err := s.Members(g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{jobID(10), jobID(9), jobID(8)}; !equal(members, want) {
		t.Errorf("members %v, want add order %v", members, want)
	}
	deps, err := s.Dependents(jobID(10))
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 2 || deps[0] != (model.Dep{ID: jobID(8), Policy: model.DepIgnore}) ||
		deps[1] != (model.Dep{ID: jobID(9), Policy: model.DepCancel}) {
		t.Errorf("dependents %+v", deps)
	}
	if deps, err := s.Dependents(jobID(9)); err != nil || len(deps) != 0 {
		t.Errorf("dependents of a leaf: %v %v", deps, err)
	}
	if _, err := s.Members("nope"); !isNotFound(err) {
		t.Errorf("members of unknown group: %v", err)
	}
	// A prefix of a group id is another group.
	if m, err := s.Members("g"); !isNotFound(err) || len(m) != 0 {
		t.Errorf("members of g: %v %v", m, err)
	}

	// Re-adding a job at the same position is idempotent.
	commit(t, s, func(b *Batch) { b.AddMember(g.ID, 1, jobID(9)) })
	checkIndexes(t, s)

	// Done: out of the open index, so Load skips it ...
	g.Counts = map[model.State]int{model.Completed: 3}
	commit(t, s, func(b *Batch) {
		for i := 8; i <= 10; i++ {
			j := newJob(i, model.Completed)
			j.Group = g.ID
			b.PutJob(j)
		}
		b.PutGroup(g)
	})
	checkIndexes(t, s)
	snap, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Groups) != 0 {
		t.Errorf("Load returned done group %+v", snap.Groups)
	}
	// ... unless a member is live again while the record says done.
	j := newJob(9, model.Queued)
	j.Group = g.ID
	putJobs(t, s, j)
	snap, err = s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Groups) != 1 || snap.Groups[0].ID != g.ID {
		t.Errorf("Load did not return the group of a live member: %+v", snap.Groups)
	}
}

func equal(a, b []string) bool { return slices.Equal(a, b) }

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
