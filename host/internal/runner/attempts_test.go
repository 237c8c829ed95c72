package runner

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCrashMidStreamFailsOnlyItsAttempt: a plugin that dies between two of
// its attempt's events fails that attempt with what it sent so far and its
// crash report; the attempts running beside it in other processes, and
// the next attempt, are untouched.
func TestCrashMidStreamFailsOnlyItsAttempt(t *testing.T) {
	m := open(t, nil)
	const steps = 20
	var wg sync.WaitGroup
	others := make([]Outcome, 6)
	otherEvents := make([][]Event, len(others))
	for i := range others {
		wg.Go(func() {
			others[i], otherEvents[i] = attempt(t, m, Attempt{JobID: "other", Task: "chaos.progress", Args: []byte(`{"steps":20,"ms":10}`)})
		})
	}
	r, evs := start(t, m, Attempt{Task: "chaos.progress", Args: []byte(`{"steps":10,"ms":5,"crash_at":3}`)})
	out := r.Outcome()
	crashed := r.PID()
	wg.Wait()
	if out.Err == nil || out.Err.Kind != "plugin_crashed" || !strings.Contains(out.Err.Message, "planned crash after step 3") || out.Err.Exit != "exit status 2" {
		t.Fatalf("crashing attempt: %+v", out.Err)
	}
	progress := 0
	for _, e := range *evs {
		if e.Kind == EventProgress {
			progress++
		}
	}
	if progress != 3 {
		t.Errorf("%d progress events before the crash, want 3", progress)
	}
	for i, o := range others {
		n := 0
		for _, e := range otherEvents[i] {
			if e.Kind == EventProgress {
				n++
			}
		}
		if o.Err != nil || n != steps {
			t.Errorf("attempt %d beside the crash: %d progress events, %v", i, n, o.Err)
		}
	}
	r2, _ := start(t, m, Attempt{Task: "chaos.noop"})
	if out := r2.Outcome(); out.Err != nil || r2.PID() == crashed {
		t.Fatalf("next attempt: pid %d (the crashed one was %d): %v", r2.PID(), crashed, out.Err)
	}
}

// TestCancelWhileWaitingForAProcess: an attempt cancelled while its
// process is being launched ends at once as canceled, without waiting for
// the launch.
func TestCancelWhileWaitingForAProcess(t *testing.T) {
	m := open(t, func(c *Config) { c.StartTimeout = 3 * time.Second })
	busy, _ := start(t, m, Attempt{Task: "chaos.sleep", Args: []byte(`{"ms":60000}`)}) // takes the warm process
	waitPID(t, busy)
	// The next launch hangs until the start timeout.
	path := m.plugins["chaos"].path
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexec sleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, _ := start(t, m, Attempt{Task: "chaos.noop"})
	r.Cancel(ErrCanceled)
	select {
	case <-r.Done():
	case <-time.After(time.Second):
		t.Fatal("a cancelled attempt waited for its launch")
	}
	if out := r.Outcome(); out.Err == nil || out.Err.Kind != "canceled" || r.PID() != 0 {
		t.Fatalf("outcome %+v, pid %d", out.Err, r.PID())
	}
	busy.Cancel(ErrCanceled)
	if out := busy.Outcome(); out.Err == nil || out.Err.Kind != "canceled" {
		t.Fatalf("busy attempt: %+v", out.Err)
	}
}

// TestOnDone: the function runs once, after Done is closed, whether it was
// given before or after the end.
func TestOnDone(t *testing.T) {
	m := open(t, nil)
	r, _ := start(t, m, Attempt{Task: "chaos.sleep", Args: []byte(`{"ms":50}`)})
	called := make(chan bool, 2)
	r.OnDone(func() {
		select {
		case <-r.Done():
			called <- true
		default:
			called <- false
		}
	})
	if !<-called {
		t.Fatal("OnDone ran before Done was closed")
	}
	r.OnDone(func() { called <- true })
	select {
	case <-called:
	default:
		t.Fatal("OnDone after the end did not run at once")
	}
	if r.Outcome().Err != nil {
		t.Fatal(r.Outcome().Err)
	}
}

// TestStartWithADoneContext: an attempt whose ctx has ended before Start
// ends canceled, and its process is not harmed.
func TestStartWithADoneContext(t *testing.T) {
	m := open(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := m.Start(ctx, Attempt{JobID: "j", Attempt: 1, Task: "chaos.sleep", Args: []byte(`{"ms":60000}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("an attempt whose ctx was done before Start ran on")
	}
	if out := r.Outcome(); out.Err == nil || out.Err.Kind != "canceled" {
		t.Fatalf("outcome %+v", out.Err)
	}
	if out, _ := attempt(t, m, Attempt{Task: "chaos.noop"}); out.Err != nil {
		t.Fatal(out.Err)
	}
}

// TestStartRacingItsDoneContext: the cancel of a ctx already done runs on
// a goroutine of its own, which may reach the attempt before Start has
// given it its plugin; that must neither panic nor lose the cancel.
func TestStartRacingItsDoneContext(t *testing.T) {
	m := open(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 300 {
		r, err := m.Start(ctx, Attempt{JobID: "j", Attempt: 1, Task: "chaos.sleep", Args: []byte(`{"ms":60000}`)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-r.Done():
		case <-time.After(30 * time.Second):
			t.Fatal("an attempt whose ctx was done before Start ran on")
		}
		if out := r.Outcome(); out.Err == nil || out.Err.Kind != "canceled" {
			t.Fatalf("outcome %+v", out.Err)
		}
	}
}
