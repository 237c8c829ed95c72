package runner

import (
	"context"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	// A launch an attempt started may still be under way: an earlier
	// attempt's process, free again, ran the attempt it was for. Count it.
	m.mu.Lock()
	n := len(m.procs) + m.plugins["chaos"].launching
	m.mu.Unlock()
	if n != 4 {
		t.Errorf("%d processes (live or launching) for 4 attempts and a Prewarm of 4, want 4", n)
	}
}

func TestPrewarmUnknownPlugin(t *testing.T) {
	m := open(t, nil)
	err := m.Prewarm(context.Background(), map[string]int{"nope": 1, "chaos": 1})
	if err == nil || !strings.Contains(err.Error(), `no plugin "nope"`) {
		t.Fatalf("Prewarm of an unknown plugin: %v", err)
	}
}

// TestProcessDeadBeforeItsAttemptArrives: a process taken from the pool
// whose channel ended before the attempt reached it (it died while idle)
// hands the attempt on to a new process instead of losing it.
func TestProcessDeadBeforeItsAttemptArrives(t *testing.T) {
	m := open(t, nil)
	if out, _ := attempt(t, m, Attempt{Task: "chaos.noop"}); out.Err != nil {
		t.Fatal(out.Err)
	}
	pl := m.plugins["chaos"]
	m.mu.Lock()
	p := m.takeIdleLocked(pl) // as Start does
	m.mu.Unlock()
	if p == nil {
		t.Fatal("no warm process")
	}
	dead := p.pid
	p.signal(syscall.SIGKILL)
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		ended := p.ended
		p.mu.Unlock()
		if ended {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed process's channel did not end")
		}
		time.Sleep(time.Millisecond) // the reader's end has no event to wait on
	}
	// Start's second half, with the process it took.
	r := &Run{m: m, pl: pl, a: Attempt{JobID: "j", Attempt: 1, Task: "chaos.noop"}, onEvent: func(Event) {}, done: make(chan struct{})}
	m.runs.Add(1)
	r.attach(p)
	select {
	case <-r.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the attempt was lost with its dead process")
	}
	if out := r.Outcome(); out.Err != nil || r.PID() == dead || r.PID() == 0 {
		t.Fatalf("attempt after its process died: pid %d (dead %d): %v", r.PID(), dead, out.Err)
	}
}
