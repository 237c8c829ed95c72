package host_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// TestResourceAwareAdmission runs chaos.sleep jobs that need 1 CPU each
// (half declared, half from the task's default) beside jobs that declare
// none, on a host of 6 workers and a capacity of 2 CPUs. From the
// attempts' records: never more than 2 of the 1-CPU jobs ran at once
// (and 2 did), and the jobs needing nothing submitted behind the 1-CPU
// jobs that had to wait started before those did, filling the other
// workers. Stats shows the capacity and what is in use. A job needing
// 3 CPUs is refused at submit.
func TestResourceAwareAdmission(t *testing.T) {
	h, _ := openHost(t, func(c *host.Config) {
		c.MaxWorkers = 6
		c.Capacity = host.Resources{CPU: 2}
		c.TaskResources = map[string]host.Resources{"chaos.sleep": {CPU: 1}}
	})
	ctx := ctxT(t)

	_, err := h.Submit(ctx, host.JobSpec{Task: "chaos.sleep", Resources: &host.Resources{CPU: 3}})
	if !errors.Is(err, host.ErrInvalid) || !strings.Contains(err.Error(), "needs cpu 3 but this host's capacity is cpu 2") {
		t.Fatalf("a job needing 3 CPUs on a host of 2: %v, want ErrInvalid saying so", err)
	}
	for _, bad := range []host.Resources{{CPU: -1}, {MemoryMB: -5}} {
		if _, err := h.Submit(ctx, host.JobSpec{Task: "chaos.sleep", Resources: &bad}); !errors.Is(err, host.ErrInvalid) {
			t.Fatalf("resources %+v: %v, want ErrInvalid", bad, err)
		}
	}

	const cpuJobs, freeJobs = 6, 8
	rec := record(t, h, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	var specs []host.JobSpec
	isCPU := map[int]bool{}
	for i := range cpuJobs + freeJobs {
		// The jobs needing nothing are short: they cycle while the
		// 1-CPU jobs hold the capacity.
		spec := host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 150}}
		switch {
		case i%7 == 0 || i%7 == 3 || i%7 == 5: // 1 CPU, declared or the task's default
			isCPU[i] = true
			spec.Args = map[string]int{"ms": 1000}
			if i%2 == 0 {
				spec.Resources = &host.Resources{CPU: 1}
			}
		default:
			spec.Resources = &host.Resources{} // declares none: overrides the default
		}
		specs = append(specs, spec)
	}
	if len(isCPU) != cpuJobs {
		t.Fatalf("test bug: %d CPU jobs", len(isCPU))
	}
	ids, err := h.SubmitMany(ctx, specs)
	if err != nil {
		t.Fatal(err)
	}
	running := 0
	rec.until(t, func(e host.Event) bool {
		if e.State == host.StateRunning {
			running++
		}
		return running == 6
	})
	st, err := h.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Capacity == nil || st.Capacity.CPU != 2 || st.Capacity.MemoryMB <= 0 {
		t.Fatalf("stats capacity %+v, want cpu 2 and 80%% of the memory", st.Capacity)
	}
	if st.CapacityInUse.CPU > 2 {
		t.Fatalf("stats: %v CPU in use of 2", st.CapacityInUse.CPU)
	}

	type span struct{ from, to time.Time }
	var cpuSpans []span
	started := map[int]time.Time{}
	for i, id := range ids {
		j := wait(t, h, id)
		if j.State != host.StateCompleted || len(j.Attempts) != 1 || j.Attempts[0].FinishedAt == nil {
			t.Fatalf("job %d: %s, attempts %+v", i, j.State, j.Attempts)
		}
		want := 0.0
		if isCPU[i] {
			want = 1
		}
		if got := 0.0; j.Resources != nil {
			got = j.Resources.CPU
			if got != want {
				t.Fatalf("job %d: needs %+v, want cpu %v", i, j.Resources, want)
			}
		} else if want != 0 {
			t.Fatalf("job %d: needs nothing, want cpu %v", i, want)
		}
		a := j.Attempts[0]
		started[i] = a.StartedAt
		if isCPU[i] {
			cpuSpans = append(cpuSpans, span{a.StartedAt, *a.FinishedAt})
		}
	}
	most := 0
	for _, s := range cpuSpans {
		n := 0
		for _, o := range cpuSpans {
			if !o.from.After(s.from) && o.to.After(s.from) {
				n++
			}
		}
		most = max(most, n)
	}
	if most != 2 {
		t.Fatalf("at most %d jobs of 1 CPU ran at once on a capacity of 2 CPUs, want 2", most)
	}
	// The third 1-CPU job (index 5) had to wait for one of the first two
	// to end; the jobs needing nothing behind it (6, 8, 9) did not.
	for _, i := range []int{6, 8, 9} {
		if !started[i].Before(started[5]) {
			t.Fatalf("job %d (needs nothing) started at %s, not before the held 1-CPU job 5 at %s", i, started[i], started[5])
		}
	}
	st, err = h.Stats(ctx)
	if err != nil || st.CapacityInUse != (host.Resources{}) {
		t.Fatalf("stats after the run: in use %+v, %v", st.CapacityInUse, err)
	}
}
