package runner

import (
	"context"
	"strings"
	"sync"
	"testing"
)

func liveProcs(m *Manager) map[int]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	pids := map[int]bool{}
	for p := range m.procs {
		pids[p.pid] = true
	}
	return pids
}

// TestPrewarm: after Prewarm, as many attempts as were asked for run at
// once without a launch, in the processes it started.
func TestPrewarm(t *testing.T) {
	m := open(t, nil)
	if err := m.Prewarm(context.Background(), map[string]int{"chaos": 4}); err != nil {
		t.Fatal(err)
	}
	warm := liveProcs(m)
	if len(warm) != 4 {
		t.Fatalf("%d processes after Prewarm, want 4", len(warm))
	}
	var runs []*Run
	for range 4 {
		r, _ := start(t, m, Attempt{Task: "chaos.sleep", Args: []byte(`{"ms":200}`)})
		runs = append(runs, r)
	}
	used := map[int]bool{}
	for _, r := range runs {
		if out := r.Outcome(); out.Err != nil {
			t.Fatal(out.Err)
		}
		used[r.PID()] = true
	}
	for pid := range used {
		if !warm[pid] {
			t.Errorf("an attempt ran in process %d, which Prewarm did not start", pid)
		}
	}
	if len(used) != 4 {
		t.Errorf("4 concurrent attempts ran in %d processes", len(used))
	}
	// Asking again for no more than there are launches nothing.
	if err := m.Prewarm(context.Background(), map[string]int{"chaos": 2}); err != nil {
		t.Fatal(err)
	}
	if n := len(liveProcs(m)); n != 4 {
		t.Errorf("%d processes after a second, smaller Prewarm, want 4", n)
	}
}

// TestPrewarmSharesLaunchesWithAttempts: attempts started while Prewarm
// launches take its processes instead of launching their own.
func TestPrewarmSharesLaunchesWithAttempts(t *testing.T) {
	m := open(t, nil)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := m.Prewarm(context.Background(), map[string]int{"chaos": 4}); err != nil {
			t.Error(err)
		}
	})
	var runs []*Run
	for range 4 {
		r, _ := start(t, m, Attempt{Task: "chaos.sleep", Args: []byte(`{"ms":100}`)})
		runs = append(runs, r)
	}
	for _, r := range runs {
		if out := r.Outcome(); out.Err != nil {
			t.Fatal(out.Err)
		}
	}
	wg.Wait()
	if n := len(liveProcs(m)); n != 4 {
		t.Errorf("%d processes for 4 attempts and a Prewarm of 4, want 4", n)
	}
}

func TestPrewarmUnknownPlugin(t *testing.T) {
	m := open(t, nil)
	err := m.Prewarm(context.Background(), map[string]int{"nope": 1, "chaos": 1})
	if err == nil || !strings.Contains(err.Error(), `no plugin "nope"`) {
		t.Fatalf("Prewarm of an unknown plugin: %v", err)
	}
}
