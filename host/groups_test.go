package host_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/host"
)

// TestSeedJobGroupsExample is the seed's "Job Groups" example, line for
// line.
func TestSeedJobGroupsExample(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)

	// Create a job group
	groupID, err := h.CreateGroup(ctx, host.GroupSpec{
		Name:            "My Job Group",
		Sequential:      true, // Execute jobs sequentially
		CancelOnFailure: true, // Cancel remaining jobs if one fails
	})
	if err != nil {
		t.Fatal(err)
	}

	// Create jobs in the group
	jobID1, err := h.Create(ctx, host.JobSpec{
		Task: "chaos.echo",
		Args: map[string]any{"param1": "value1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddToGroup(ctx, jobID1, groupID); err != nil {
		t.Fatal(err)
	}

	jobID2, err := h.Create(ctx, host.JobSpec{
		Task:      "chaos.echo",
		Args:      map[string]any{"param2": "value2"},
		DependsOn: host.After(jobID1), // This job depends on job1
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddToGroup(ctx, jobID2, groupID); err != nil {
		t.Fatal(err)
	}

	// Submit all jobs
	if err := h.SubmitCreated(ctx, jobID1); err != nil {
		t.Fatal(err)
	}
	if err := h.SubmitCreated(ctx, jobID2); err != nil {
		t.Fatal(err)
	}

	// Wait for the job group to complete
	g, err := h.WaitGroup(ctx, groupID)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Done || g.Outcome != "completed" || g.Counts[host.StateCompleted] != 2 || g.Progress != 1 {
		t.Fatalf("group %+v", g)
	}
	if diff := cmp.Diff([]string{jobID1, jobID2}, g.Jobs); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	j1, _ := h.Get(ctx, jobID1)
	j2, _ := h.Get(ctx, jobID2)
	if !j2.StartedAt.After(*j1.FinishedAt) && !j2.StartedAt.Equal(*j1.FinishedAt) {
		t.Errorf("job2 started %v before job1 finished %v", j2.StartedAt, j1.FinishedAt)
	}
}

// diamond builds A → B, C → D and returns the ids.
func diamond(t *testing.T, h *host.Host, b host.JobSpec, bPolicy host.DepPolicy) (a, bb, c, d string) {
	a = submit(t, h, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 10}})
	bb = submit(t, h, withDeps(b, host.After(a)))
	c = submit(t, h, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 300}, DependsOn: host.After(a)})
	d = submit(t, h, host.JobSpec{Task: "chaos.echo", Args: map[string]int{"d": 1},
		DependsOn: []host.Dep{{Job: bb, Policy: bPolicy}, {Job: c}}})
	return
}

func withDeps(s host.JobSpec, deps []host.Dep) host.JobSpec {
	s.DependsOn = deps
	return s
}

func TestDiamondRunsInValidOrderWithBAndCInParallel(t *testing.T) {
	h, _ := openHost(t, nil)
	rec := record(t, h, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	a, b, c, d := diamond(t, h, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 300}}, "")
	evs := rec.until(t, stateEvent(d, host.StateCompleted))
	start, end := intervals(evs)
	if !end[a].Before(start[b]) && !end[a].Equal(start[b]) || end[a].After(start[c]) {
		t.Errorf("B or C started before A finished")
	}
	if start[d].Before(end[b]) || start[d].Before(end[c]) {
		t.Errorf("D started before B and C finished")
	}
	// B and C ran at the same time.
	if !start[b].Before(end[c]) || !start[c].Before(end[b]) {
		t.Errorf("B [%v,%v] and C [%v,%v] did not overlap", start[b], end[b], start[c], end[c])
	}
	if j, _ := h.Get(ctxT(t), d); j.State != host.StateCompleted {
		t.Errorf("D %s", j.State)
	}
}

func TestDiamondFailingBCancelsDButNotC(t *testing.T) {
	h, _ := openHost(t, nil)
	fail := host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 5, "permanent": true}}
	_, b, c, d := diamond(t, h, fail, "")
	jd := wait(t, h, d)
	if jd.State != host.StateCanceled || jd.Error == nil || jd.Error.Kind != "dependency_failed" || jd.Error.Dependency != b || jd.Attempt != 0 {
		t.Fatalf("D: %s %+v attempt %d", jd.State, jd.Error, jd.Attempt)
	}
	if jc := wait(t, h, c); jc.State != host.StateCompleted {
		t.Fatalf("C: %s", jc.State)
	}
	// Manual retry of B re-arms D: it waits again, then is canceled again
	// when B fails again.
	if err := h.Retry(ctxT(t), b); err != nil {
		t.Fatal(err)
	}
	jd = wait(t, h, d)
	if jd.State != host.StateCanceled || jd.Error.Dependency != b {
		t.Fatalf("D after retry of B: %s %+v", jd.State, jd.Error)
	}
	if jb, _ := h.Get(ctxT(t), b); jb.Attempt != 2 {
		t.Fatalf("B attempts %d", jb.Attempt)
	}
}

func TestDiamondIgnorePolicyRunsDAnyway(t *testing.T) {
	h, _ := openHost(t, nil)
	fail := host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 1, "permanent": true}}
	_, b, _, d := diamond(t, h, fail, host.DepIgnore)
	if jd := wait(t, h, d); jd.State != host.StateCompleted {
		t.Fatalf("D: %s %+v", jd.State, jd.Error)
	}
	if jb, _ := h.Get(ctxT(t), b); jb.State != host.StateFailed {
		t.Fatalf("B: %s", jb.State)
	}
}

func TestRetryOfFailedDependencyRearmsCanceledDependents(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	a := submit(t, h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 1}, MaxAttempts: 1})
	b := submit(t, h, host.JobSpec{Task: "chaos.noop", DependsOn: host.After(a)})
	c := submit(t, h, host.JobSpec{Task: "chaos.noop", DependsOn: host.After(b)})
	if jc := wait(t, h, c); jc.State != host.StateCanceled || jc.Error.Dependency != b {
		t.Fatalf("C: %s %+v", jc.State, jc.Error)
	}
	// chaos.fail with times 1 succeeds on attempt 2: the whole chain runs.
	if err := h.Retry(ctx, a); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a, b, c} {
		if j := wait(t, h, id); j.State != host.StateCompleted {
			t.Fatalf("%s after retry: %s %+v", id, j.State, j.Error)
		}
	}
}

func TestDependencyOnFinishedJobs(t *testing.T) {
	h, _ := openHost(t, nil)
	ok := submit(t, h, host.JobSpec{Task: "chaos.noop"})
	bad := submit(t, h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 1, "permanent": true}})
	wait(t, h, ok)
	wait(t, h, bad)
	if j := wait(t, h, submit(t, h, host.JobSpec{Task: "chaos.noop", DependsOn: host.After(ok)})); j.State != host.StateCompleted {
		t.Errorf("depending on a completed job: %s", j.State)
	}
	j := wait(t, h, submit(t, h, host.JobSpec{Task: "chaos.noop", DependsOn: host.After(bad)}))
	if j.State != host.StateCanceled || j.Error.Kind != "dependency_failed" {
		t.Errorf("depending on a failed job: %s %+v", j.State, j.Error)
	}
	j = wait(t, h, submit(t, h, host.JobSpec{Task: "chaos.noop", DependsOn: []host.Dep{{Job: bad, Policy: host.DepIgnore}}}))
	if j.State != host.StateCompleted {
		t.Errorf("ignore policy on a failed job: %s", j.State)
	}
}

func TestCyclesAndGroupRulesAreRefused(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	a, _ := h.Create(ctx, host.JobSpec{Task: "chaos.noop"})
	b, _ := h.Create(ctx, host.JobSpec{Task: "chaos.noop", DependsOn: host.After(a)})
	err := h.AddDependencies(ctx, a, host.Dep{Job: b})
	var ce *host.CycleError
	if !errors.Is(err, host.ErrCycle) || !errors.As(err, &ce) || len(ce.Path) != 3 {
		t.Fatalf("cycle: %v", err)
	}
	if err := h.AddDependencies(ctx, a, host.Dep{Job: a}); !errors.Is(err, host.ErrInvalid) {
		t.Fatalf("self dependency: %v", err)
	}
	// A sequential group adding b then a would make a wait for b: cycle.
	g, _ := h.CreateGroup(ctx, host.GroupSpec{Name: "seq", Sequential: true})
	if err := h.AddToGroup(ctx, b, g); err != nil {
		t.Fatal(err)
	}
	if err := h.AddToGroup(ctx, a, g); !errors.Is(err, host.ErrCycle) {
		t.Fatalf("sequential cycle: %v", err)
	}
	other, _ := h.CreateGroup(ctx, host.GroupSpec{Name: "other"})
	if err := h.AddToGroup(ctx, b, other); !errors.Is(err, host.ErrState) {
		t.Fatalf("second group: %v", err)
	}
	s := submit(t, h, host.JobSpec{Task: "chaos.noop"})
	if err := h.AddToGroup(ctx, s, other); !errors.Is(err, host.ErrState) {
		t.Fatalf("submitted job into group: %v", err)
	}
	if _, err := h.CreateGroup(ctx, host.GroupSpec{Name: "  "}); !errors.Is(err, host.ErrInvalid) {
		t.Fatalf("empty group name: %v", err)
	}
	// Nothing above changed the jobs.
	ja, _ := h.Get(ctx, a)
	jb, _ := h.Get(ctx, b)
	if len(ja.DependsOn) != 0 || ja.Group != "" || jb.Group != g || ja.State != host.StateCreated {
		t.Fatalf("refused changes leaked: a=%+v b=%+v", ja, jb)
	}
}

func TestAddingToADoneGroupReopensIt(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	g, _ := h.CreateGroup(ctx, host.GroupSpec{Name: "reopen"})
	submit(t, h, host.JobSpec{Task: "chaos.noop", Group: g})
	if gr, err := h.WaitGroup(ctx, g); err != nil || !gr.Done {
		t.Fatalf("%+v %v", gr, err)
	}
	id, _ := h.Create(ctx, host.JobSpec{Task: "chaos.noop", Group: g})
	gr, _ := h.GetGroup(ctx, g)
	if gr.Done || gr.Counts[host.StateCreated] != 1 || len(gr.Jobs) != 2 {
		t.Fatalf("reopened group %+v", gr)
	}
	if err := h.SubmitGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	if gr, err := h.WaitGroup(ctx, g); err != nil || !gr.Done || gr.Counts[host.StateCompleted] != 2 {
		t.Fatalf("%+v %v", gr, err)
	}
	wait(t, h, id)
}

func TestSequentialGroupOf50NeverOverlaps(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	g, _ := h.CreateGroup(ctx, host.GroupSpec{Name: "seq50", Sequential: true})
	rec := record(t, h, host.EventFilter{Groups: []string{g}, Types: []host.EventType{host.EventJobState, host.EventGroup}})
	var specs []host.JobSpec
	for i := range 50 {
		specs = append(specs, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 1 + i%3}, Group: g})
	}
	ids, err := h.SubmitMany(ctx, specs)
	if err != nil {
		t.Fatal(err)
	}
	evs := rec.until(t, func(e host.Event) bool { return e.Type == host.EventGroup && e.GroupStatus.Done })
	running := 0
	var order []string
	for _, e := range evs {
		if e.Type != host.EventJobState {
			continue
		}
		if e.State == host.StateRunning {
			running++
			order = append(order, e.Job)
			if running > 1 {
				t.Fatalf("two members running at once at %s", e.Job)
			}
		}
		if e.PrevState == host.StateRunning {
			running--
		}
	}
	if diff := cmp.Diff(ids, order); diff != "" {
		t.Errorf("run order (-want +got):\n%s", diff)
	}
	gr, _ := h.GetGroup(ctx, g)
	if gr.Outcome != "completed" || gr.Counts[host.StateCompleted] != 50 {
		t.Errorf("group %+v", gr)
	}
}

func TestCancelOnFailureStopsARunningMember(t *testing.T) {
	h, cfg := openHost(t, nil)
	ctx := ctxT(t)
	g, _ := h.CreateGroup(ctx, host.GroupSpec{Name: "cof", CancelOnFailure: true})
	rec := record(t, h, host.EventFilter{Groups: []string{g}, Types: []host.EventType{host.EventJobState}})
	long := submit(t, h, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 60000}, Group: g})
	rec.until(t, stateEvent(long, host.StateRunning))
	waiting, _ := h.Create(ctx, host.JobSpec{Task: "chaos.noop", Group: g})
	bad := submit(t, h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 1, "permanent": true}, Group: g})
	evs := rec.until(t, stateEvent(long, host.StateCanceled))
	var failedAt time.Time
	for _, e := range evs {
		if e.Job == bad && e.State == host.StateFailed {
			failedAt = e.Time
		}
	}
	stopped := evs[len(evs)-1].Time
	if failedAt.IsZero() || stopped.Sub(failedAt) > cfg.KillGrace {
		t.Fatalf("running member stopped %s after the failure (grace %s)", stopped.Sub(failedAt), cfg.KillGrace)
	}
	jl := wait(t, h, long)
	if jl.Attempt != 1 || jl.Error == nil || jl.Error.Kind != "canceled" {
		t.Fatalf("long member %+v", jl)
	}
	if jw := wait(t, h, waiting); jw.State != host.StateCanceled {
		t.Fatalf("created member %s", jw.State)
	}
	gr, _ := h.WaitGroup(ctx, g)
	if gr.Outcome != "failed" {
		t.Fatalf("outcome %s counts %v", gr.Outcome, gr.Counts)
	}
}

func TestKill9MidDAGEveryJobReachesItsDictatedState(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	const n = 500
	r := rand.New(rand.NewPCG(7, 11))
	dir := t.TempDir()
	tag := fmt.Sprintf("BH_TEST_TAG=%d", rand.Int64())
	spec := helperSpec{DataDir: dir, PluginDir: pluginDir, Tag: tag, Workers: 8}
	fails := map[int]bool{}
	for i := range n {
		j := helperJob{Task: "chaos.sleep", Args: map[string]any{"ms": 2 + r.IntN(10)}}
		if i > 0 && r.IntN(50) == 0 {
			j = helperJob{Task: "chaos.fail", Args: map[string]any{"times": 9, "permanent": true}}
			fails[i] = true
		}
		for range r.IntN(3) {
			if a := r.IntN(max(i, 1)); i > 0 && !slices.Contains(j.After, a) {
				j.After = append(j.After, a)
			}
		}
		spec.Jobs = append(spec.Jobs, j)
	}
	p := startHelper(t, spec)
	p.killAfter(t, n/3, tag)

	h := reopen(t, host.Config{DataDir: dir, PluginDir: pluginDir, MaxWorkers: 8, DefaultBackoff: fastBackoff})
	// The state each job must end in follows from its own task and its
	// dependencies' states (all edges use the cancel policy).
	want := make([]host.State, n)
	for i, j := range spec.Jobs {
		want[i] = host.StateCompleted
		if fails[i] {
			want[i] = host.StateFailed
		}
		for _, a := range j.After {
			if want[a] != host.StateCompleted {
				want[i] = host.StateCanceled
			}
		}
	}
	for i, id := range p.ids {
		j := wait(t, h, id)
		if j.State != want[i] {
			t.Errorf("job %d (%s) ended %s, want %s (%+v)", i, id, j.State, want[i], j.Error)
		}
	}
}
