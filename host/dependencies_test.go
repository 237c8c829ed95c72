package host_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// diamond builds A → B, C → D and returns the ids. A is created first
// and submitted last, so that B and C are both waiting when it ends
// (however slowly a loaded machine takes the submits).
func diamond(t *testing.T, h *host.Host, b host.JobSpec, bPolicy host.DepPolicy) (a, bb, c, d string) {
	t.Helper()
	a, err := h.Create(ctxT(t), host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 10}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := h.SubmitCreated(ctxT(t), a); err != nil {
			t.Fatal(err)
		}
	}()
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

// A job released by a failed dependency (ignore policy), paused, then
// resumed after the dependency was retried but before it finished, goes
// back to waiting — and must be woken when the dependency completes.
func TestResumeAfterDependencyRetryWaitsAndWakes(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	d := submit(t, h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 1, "permanent": true}})
	j := submit(t, h, host.JobSpec{Task: "chaos.noop", Delay: time.Hour, DependsOn: []host.Dep{{Job: d, Policy: host.DepIgnore}}})
	if got := wait(t, h, d); got.State != host.StateFailed {
		t.Fatalf("d %s", got.State)
	}
	if got, _ := h.Get(ctx, j); got.State != host.StateQueued {
		t.Fatalf("j %s, want queued (ignore policy)", got.State)
	}
	for _, step := range []func() error{
		func() error { return h.Pause(ctx, j) },
		func() error { return h.PauseDispatch(ctx) },
		func() error { return h.Retry(ctx, d) },
		func() error { return h.Resume(ctx, j) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := h.Get(ctx, j); got.State != host.StateWaiting {
		t.Fatalf("j %s after resume, want waiting for the retried d", got.State)
	}
	h.ResumeDispatch(ctx)
	if got := wait(t, h, d); got.State != host.StateCompleted {
		t.Fatalf("d %s after retry", got.State)
	}
	// d's completion and the release it causes share one commit, which
	// Wait waited for.
	if got, _ := h.Get(ctx, j); got.State != host.StateQueued {
		t.Fatalf("j is %s with its only dependency completed", got.State)
	}
}

// Listing a dependency twice in one AddDependencies call counted it twice,
// so its completion never released the job.
func TestAddDependenciesRefusesADuplicateInOneCall(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	a := submit(t, h, host.JobSpec{Task: "chaos.noop"})
	b, err := h.Create(ctx, host.JobSpec{Task: "chaos.noop"})
	if err != nil {
		t.Fatal(err)
	}
	err = h.AddDependencies(ctx, b, host.After(a, a)...)
	if !errors.Is(err, host.ErrInvalid) || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("AddDependencies(a, a): %v, want ErrInvalid naming the duplicate", err)
	}
	if j, _ := h.Get(ctx, b); len(j.DependsOn) != 0 {
		t.Fatalf("refused call left dependencies %v", j.DependsOn)
	}
	if err := h.AddDependencies(ctx, b, host.After(a)...); err != nil {
		t.Fatal(err)
	}
	if err := h.SubmitCreated(ctx, b); err != nil {
		t.Fatal(err)
	}
	if j := wait(t, h, b); j.State != host.StateCompleted {
		t.Fatalf("b ended %s", j.State)
	}
}
