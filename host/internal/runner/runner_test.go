package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/internal/testbin"
)

func TestEchoAndEventsInOrder(t *testing.T) { protocols(t, testEchoAndEventsInOrder) }

func testEchoAndEventsInOrder(t *testing.T, chaos string) {
	m := open(t, withChaos(t, chaos, nil))
	out, _ := attempt(t, m, Attempt{Task: "chaos.echo", Args: []byte(`{"a":[1,2,"ü"]}`)})
	if out.Err != nil || string(out.Output) != `{"a":[1,2,"ü"]}` {
		t.Fatalf("echo: %s %v", out.Output, out.Err)
	}
	out, evs := attempt(t, m, Attempt{Task: "chaos.progress", Args: []byte(`{"steps":4,"ms":1}`)})
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	var got []string
	for _, e := range evs {
		switch e.Kind {
		case EventProgress:
			got = append(got, fmt.Sprintf("p%.2f", e.Fraction))
		case EventLog:
			got = append(got, "log:"+e.Message+":"+string(e.Fields))
		}
	}
	want := []string{`p0.25`, `log:step:{"i":1}`, `p0.50`, `log:step:{"i":2}`, `p0.75`, `log:step:{"i":3}`, `p1.00`, `log:step:{"i":4}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestMisbehavingPluginsFailOnlyTheirOwnAttempt(t *testing.T) {
	protocols(t, testMisbehavingPluginsFailOnlyTheirOwnAttempt)
}

func testMisbehavingPluginsFailOnlyTheirOwnAttempt(t *testing.T, chaos string) {
	m := open(t, withChaos(t, chaos, nil))
	var wg sync.WaitGroup
	sleeps := make([]Outcome, 20)
	for i := range sleeps {
		wg.Go(func() {
			sleeps[i], _ = attempt(t, m, Attempt{JobID: fmt.Sprint("sleep", i), Task: "chaos.sleep", Args: []byte(`{"ms":300}`)})
		})
	}
	bad := []struct {
		task, args string
		timeout    time.Duration
		kind       errkind.Kind
		exit       string
		stderr     string
	}{
		{"chaos.panic", `{"message":"boom from chaos"}`, 0, errkind.PluginCrashed, "exit status 2", "panic: boom from chaos"},
		{"chaos.exit", `{"code":7}`, 0, errkind.PluginCrashed, "exit status 7", ""},
		{"chaos.kill", ``, 0, errkind.PluginCrashed, "signal: killed", ""},
		{"chaos.hang", ``, 500 * time.Millisecond, errkind.Timeout, "", ""},
	}
	outs := make([]Outcome, len(bad))
	for i, b := range bad {
		wg.Go(func() {
			outs[i], _ = attempt(t, m, Attempt{Task: b.task, Args: []byte(b.args), Timeout: b.timeout})
		})
	}
	wg.Wait()
	for i, b := range bad {
		e := outs[i].Err
		if e == nil || e.Kind != b.kind || !strings.Contains(e.Exit, b.exit) || !strings.Contains(e.Stderr, b.stderr) {
			t.Errorf("%s: %+v", b.task, e)
		}
	}
	if e := outs[0].Err; e != nil && !strings.Contains(e.Message, "boom from chaos") {
		t.Errorf("panic message not in the error: %q", e.Message)
	}
	for i, o := range sleeps {
		if o.Err != nil {
			t.Errorf("sleep %d beside the crashes: %v", i, o.Err)
		}
	}
	// Still serving.
	if out, _ := attempt(t, m, Attempt{Task: "chaos.noop"}); out.Err != nil {
		t.Fatal(out.Err)
	}
}

func TestHungPluginIsKilledAtItsTimeout(t *testing.T) {
	protocols(t, testHungPluginIsKilledAtItsTimeout)
}

func testHungPluginIsKilledAtItsTimeout(t *testing.T, chaos string) {
	m := open(t, withChaos(t, chaos, func(c *Config) { c.KillGrace = 500 * time.Millisecond }))
	const timeout = time.Second
	t0 := time.Now()
	r, _ := start(t, m, Attempt{Task: "chaos.hang", Timeout: timeout})
	pid := waitPID(t, r)
	out := r.Outcome()
	el := time.Since(t0)
	if out.Err == nil || out.Err.Kind != errkind.Timeout || !out.Err.Retryable {
		t.Fatalf("hang: %+v", out.Err)
	}
	if el > timeout+500*time.Millisecond+time.Second {
		t.Errorf("hang ended after %s, bound is timeout+grace+1s", el)
	}
	if el < timeout {
		t.Errorf("hang ended after %s, before its timeout", el)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("hung plugin %d still alive", pid)
	}
}

func waitPID(t testing.TB, r *Run) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for r.PID() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("attempt never got a process")
		}
		time.Sleep(time.Millisecond) // the PID is set when the launch ends; no event for it
	}
	return r.PID()
}

func TestCancelReachesTheTaskAndTheProcessIsReused(t *testing.T) {
	protocols(t, testCancelReachesTheTaskAndTheProcessIsReused)
}

func testCancelReachesTheTaskAndTheProcessIsReused(t *testing.T, chaos string) {
	m := open(t, withChaos(t, chaos, nil))
	r, _ := start(t, m, Attempt{Task: "chaos.progress", Args: []byte(`{"steps":1000,"ms":30}`)})
	pid := waitPID(t, r)
	t0 := time.Now()
	r.Cancel(ErrCanceled)
	out := r.Outcome()
	if out.Err == nil || out.Err.Kind != errkind.Canceled {
		t.Fatalf("canceled attempt: %+v", out.Err)
	}
	// The task saw its ctx end and returned well before the kill grace:
	// the process was not killed and serves the next attempt.
	if el := time.Since(t0); el > 5*time.Second {
		t.Errorf("cancel took %s", el)
	}
	r2, _ := start(t, m, Attempt{Task: "chaos.noop"})
	if out := r2.Outcome(); out.Err != nil || r2.PID() != pid {
		t.Fatalf("next attempt: pid %d (was %d) err %v", r2.PID(), pid, out.Err)
	}
}

// TestEventsAfterCancelArrive: what a task sends between its cancel and
// its return (its clean-up) reaches the host before the attempt ends.
func TestEventsAfterCancelArrive(t *testing.T) {
	m := open(t, nil)
	waiting := make(chan struct{})
	var evs []Event
	r, err := m.Start(context.Background(), Attempt{JobID: "j", Attempt: 1, Task: "chaos.linger", Args: []byte(`{"lines":3}`)}, func(e Event) {
		evs = append(evs, e)
		if e.Message == "waiting for the cancel" {
			close(waiting)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	<-waiting
	r.Cancel(ErrCanceled)
	if out := r.Outcome(); out.Err == nil || out.Err.Kind != errkind.Canceled {
		t.Fatalf("outcome %+v, want canceled", out.Err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Message+string(e.Fields))
	}
	want := []string{"waiting for the cancel{}", `cleanup{"i":1}`, `cleanup{"i":2}`, `cleanup{"i":3}`, "cleaned up"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestPauseStopsProgressAndTheTimeoutClock(t *testing.T) {
	protocols(t, testPauseStopsProgressAndTheTimeoutClock)
}

func testPauseStopsProgressAndTheTimeoutClock(t *testing.T, chaos string) {
	m := open(t, withChaos(t, chaos, nil))
	var mu sync.Mutex
	var progressAt []time.Time
	got := make(chan struct{}, 100)
	r, err := m.Start(context.Background(), Attempt{JobID: "p", Attempt: 1, Task: "chaos.progress",
		Args: []byte(`{"steps":10,"ms":100}`), Timeout: 1500 * time.Millisecond},
		func(e Event) {
			if e.Kind == EventProgress {
				mu.Lock()
				progressAt = append(progressAt, time.Now())
				mu.Unlock()
				got <- struct{}{}
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	<-got
	<-got
	if err := r.Pause(); err != nil {
		t.Fatal(err)
	}
	pausedAt := time.Now()
	time.Sleep(2 * time.Second) // the scenario: paused for 2 s
	resumedAt := time.Now()
	if err := r.Resume(); err != nil {
		t.Fatal(err)
	}
	out := r.Outcome()
	if out.Err != nil {
		t.Fatalf("paused job failed: %v (the pause must not count against the timeout)", out.Err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, at := range progressAt {
		// One event may already have been in flight when the stop landed.
		if at.After(pausedAt.Add(200*time.Millisecond)) && at.Before(resumedAt) {
			t.Errorf("progress at %s into a pause", at.Sub(pausedAt))
		}
	}
	if len(progressAt) != 10 {
		t.Errorf("%d progress events, want 10", len(progressAt))
	}
}

func TestStallTimeout(t *testing.T) { protocols(t, testStallTimeout) }

func testStallTimeout(t *testing.T, chaos string) {
	m := open(t, withChaos(t, chaos, nil))
	// chaos.hang sends heartbeats (the SDK does) so it does not stall;
	// a stopped process sends nothing, but pause stops the stall clock.
	out, _ := attempt(t, m, Attempt{Task: "chaos.sleep", Args: []byte(`{"ms":1500}`), StallTimeout: 3 * time.Second})
	if out.Err != nil {
		t.Fatalf("heartbeats should keep a sleeping task alive: %v", out.Err)
	}
	r, _ := start(t, m, Attempt{Task: "chaos.sleep", Args: []byte(`{"ms":60000}`), StallTimeout: 300 * time.Millisecond})
	pid := waitPID(t, r)
	// Stop the process behind the runner's back: no more heartbeats.
	syscall.Kill(-pid, syscall.SIGSTOP)
	out = r.Outcome()
	if out.Err == nil || out.Err.Kind != errkind.Stalled {
		t.Fatalf("stalled attempt: %+v", out.Err)
	}
}

func TestCloseLeavesNoProcess(t *testing.T) { protocols(t, testCloseLeavesNoProcess) }

func testCloseLeavesNoProcess(t *testing.T, chaos string) {
	m := open(t, withChaos(t, chaos, nil))
	var runs []*Run
	for range 3 {
		r, _ := start(t, m, Attempt{Task: "chaos.sleep", Args: []byte(`{"ms":60000}`)})
		runs = append(runs, r)
	}
	for _, r := range runs {
		waitPID(t, r)
	}
	if n := len(testbin.Descendants(os.Getpid())); n < 3 {
		t.Fatalf("%d plugin processes, want at least 3", n)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if out := r.Outcome(); out.Err == nil {
			t.Errorf("attempt killed by Close reported success")
		}
	}
	if left := testbin.Descendants(os.Getpid()); len(left) > 0 {
		t.Fatalf("left after Close: %+v", left)
	}
	if _, err := m.Start(context.Background(), Attempt{Task: "chaos.noop"}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
}

func TestHostKilledLeavesNoPlugins(t *testing.T) {
	dir := pluginDir(t, map[string]string{"batchhost-plugin-chaos": chaosBin})
	tag := fmt.Sprintf("BH_RUNNER_TAG=%d", rand.Int64())
	cmd := startHelper(t, dir, tag)
	if n := len(testbin.FindByEnv(tag)); n < 2 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("%d tagged plugin processes before the kill, want 2", n)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	killed := time.Now()
	for len(testbin.FindByEnv(tag)) > 0 {
		if time.Since(killed) > 2*time.Second {
			t.Fatalf("plugins still running 2s after their host was killed: %+v", testbin.FindByEnv(tag))
		}
		time.Sleep(10 * time.Millisecond) // another process's exit has no event to wait on
	}
	t.Logf("plugins gone %s after the host's SIGKILL", time.Since(killed))
}

func TestBadPluginDirectories(t *testing.T) {
	if _, err := Open(Config{Dir: "/nonexistent/plugin/dir"}); err == nil || !strings.Contains(err.Error(), "/nonexistent/plugin/dir") {
		t.Fatalf("missing dir: %v", err)
	}
	dir := pluginDir(t, map[string]string{
		"batchhost-plugin-chaos":  chaosBin,
		"batchhost-plugin-chaos2": chaosBin, // claims "chaos" too
		"batchhost-plugin-bogus":  bogusBin,
		"README.txt":              bogusBin, // not a plugin name: ignored
	})
	if err := os.WriteFile(dir+"/batchhost-plugin-noexec", []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := open(t, func(c *Config) { c.Dir = dir; c.StartTimeout = 3 * time.Second })
	probs := fmt.Sprint(m.Problems())
	for _, want := range []string{"batchhost-plugin-chaos2", "already taken", "batchhost-plugin-bogus", "batchhost-plugin-noexec", "not executable"} {
		if !strings.Contains(probs, want) {
			t.Errorf("problems %s lack %q", probs, want)
		}
	}
	if strings.Contains(probs, "README") || len(m.Problems()) != 3 {
		t.Errorf("problems: %s", probs)
	}
	for _, p := range m.Problems() {
		if strings.Contains(p.Error(), "\n") {
			t.Errorf("multi-line problem: %q", p)
		}
	}
	if !m.HasTask("chaos.echo") {
		t.Fatal("the good plugin did not load")
	}
	if out, _ := attempt(t, m, Attempt{Task: "chaos.noop"}); out.Err != nil {
		t.Fatal(out.Err)
	}
	if _, err := m.Start(context.Background(), Attempt{Task: "chaos.nope"}, nil); !errors.Is(err, ErrUnknownTask) {
		t.Fatalf("unknown task: %v", err)
	}
}

func TestMemoryLimit(t *testing.T) { protocols(t, testMemoryLimit) }

func testMemoryLimit(t *testing.T, chaos string) {
	m := open(t, withChaos(t, chaos, func(c *Config) { c.MemoryLimit = 256 << 20 }))
	if out, _ := attempt(t, m, Attempt{Task: "chaos.alloc", Args: []byte(`{"mb":32}`)}); out.Err != nil {
		t.Fatalf("small allocation under the limit: %v", out.Err)
	}
	out, _ := attempt(t, m, Attempt{Task: "chaos.alloc", Args: []byte(`{"mb":1024}`)})
	if out.Err == nil || out.Err.Kind != errkind.PluginCrashed || !strings.Contains(out.Err.Message, "memory") {
		t.Fatalf("allocation over the limit: %+v", out.Err)
	}
	if out, _ := attempt(t, m, Attempt{Task: "chaos.noop"}); out.Err != nil {
		t.Fatalf("after the memory crash: %v", out.Err)
	}
}

func TestWarmReuseAndFreshProcessPerAttempt(t *testing.T) {
	m := open(t, func(c *Config) {
		c.Dir = pluginDir(t, map[string]string{"batchhost-plugin-chaos": chaosBin, "batchhost-plugin-fresh": freshBin})
	})
	pids := map[string]map[int]bool{"chaos.noop": {}, "fresh.pid": {}}
	for range 3 {
		for task := range pids {
			r, _ := start(t, m, Attempt{Task: task})
			if out := r.Outcome(); out.Err != nil {
				t.Fatal(out.Err)
			}
			pids[task][r.PID()] = true
		}
	}
	if len(pids["chaos.noop"]) != 1 {
		t.Errorf("chaos ran 3 sequential attempts in %d processes, want 1 warm one", len(pids["chaos.noop"]))
	}
	if len(pids["fresh.pid"]) != 3 {
		t.Errorf("fresh plugin ran 3 attempts in %d processes, want 3", len(pids["fresh.pid"]))
	}
}

func TestIdleProcessesAreStopped(t *testing.T) {
	m := open(t, func(c *Config) { c.IdleTimeout = 200 * time.Millisecond })
	r, _ := start(t, m, Attempt{Task: "chaos.noop"})
	r.Outcome()
	pid := r.PID()
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("idle plugin %d still running", pid)
		}
		time.Sleep(20 * time.Millisecond) // another process's exit has no event to wait on
	}
	// The next attempt launches a new one.
	if out, _ := attempt(t, m, Attempt{Task: "chaos.noop"}); out.Err != nil {
		t.Fatal(out.Err)
	}
}

func TestIdleProcessThatDiesIsReplacedAndReleased(t *testing.T) {
	m := open(t, nil)
	r, _ := start(t, m, Attempt{Task: "chaos.noop"})
	r.Outcome()
	dead := r.PID()
	syscall.Kill(dead, syscall.SIGKILL)
	for syscall.Kill(dead, 0) == nil {
		time.Sleep(time.Millisecond) // waiting for another process to die
	}
	r2, _ := start(t, m, Attempt{Task: "chaos.noop"})
	if out := r2.Outcome(); out.Err != nil || r2.PID() == dead {
		t.Fatalf("after an idle death: pid %d (dead %d) %v", r2.PID(), dead, out.Err)
	}
	m.mu.Lock()
	n := len(m.procs)
	m.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d processes tracked, want 1: the dead one was not released", n)
	}
}

func TestCallerContextCancelIsACancelNotACrash(t *testing.T) {
	protocols(t, testCallerContextCancelIsACancelNotACrash)
}

func testCallerContextCancelIsACancelNotACrash(t *testing.T, chaos string) {
	m := open(t, withChaos(t, chaos, nil))
	ctx, cancel := context.WithCancel(context.Background())
	r, err := m.Start(ctx, Attempt{JobID: "c", Attempt: 1, Task: "chaos.sleep", Args: []byte(`{"ms":60000}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitPID(t, r)
	pid := r.PID()
	cancel()
	if out := r.Outcome(); out.Err == nil || out.Err.Kind != errkind.Canceled {
		t.Fatalf("outcome %+v", out.Err)
	}
	if syscall.Kill(pid, 0) != nil {
		t.Fatal("a healthy process was killed for a cancel")
	}
}

func TestLongSocketDirIsAClearError(t *testing.T) {
	_, err := Open(Config{Dir: t.TempDir(), SocketDir: "/tmp/" + strings.Repeat("x", 80)})
	if err == nil || !strings.Contains(err.Error(), "108 bytes") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("long socket dir: %v", err)
	}
}

// TestPauseAndKillReachCommandsInTheirOwnGroups: the exec plugin runs its
// command in a process group of its own; pausing the attempt must stop the
// command, and killing the plugin must kill the command's whole group.
func TestPauseAndKillReachCommandsInTheirOwnGroups(t *testing.T) {
	m := open(t, func(c *Config) {
		c.Dir = pluginDir(t, map[string]string{"batchhost-plugin-exec": execBin})
		c.KillGrace = 300 * time.Millisecond
	})
	out := filepath.Join(t.TempDir(), "ticks")
	// The command writes to a file, not through the plugin, so a paused
	// plugin cannot hide a command that keeps running.
	script := fmt.Sprintf(`sleep 100 & echo started; while true; do echo tick >> %s; sleep 0.02; done`, out)
	args, _ := json.Marshal(map[string]any{"argv": []string{"sh", "-c", script}})
	started := make(chan struct{}, 1)
	r, err := m.Start(context.Background(), Attempt{JobID: "x", Attempt: 1, Task: "exec.run", Timeout: 20 * time.Second, Args: args},
		func(e Event) {
			if e.Kind == EventLog && e.Message == "started" {
				started <- struct{}{}
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	size := func() int64 {
		st, _ := os.Stat(out)
		if st == nil {
			return 0
		}
		return st.Size()
	}
	if err := r.Pause(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let a write in flight land
	before := size()
	time.Sleep(500 * time.Millisecond) // the scenario: a paused stretch
	if grew := size() - before; grew > 0 {
		t.Fatalf("the command wrote %d bytes while paused", grew)
	}
	r.Resume()
	pid := r.PID()
	groups := descendantGroups(pid)
	if len(groups) == 0 {
		t.Fatal("the command is not in a group of its own; the test proves nothing")
	}
	// Kill the plugin as the runner does when a plugin must go; the
	// background sleep 100 outlives its shell unless its group is killed.
	r.mu.Lock()
	p := r.p
	r.mu.Unlock()
	p.signal(syscall.SIGKILL)
	r.Outcome()
	for _, g := range groups {
		deadline := time.Now().Add(5 * time.Second)
		for syscall.Kill(-g, 0) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("command group %d survived its plugin", g)
			}
			time.Sleep(10 * time.Millisecond) // another process's exit has no event to wait on
		}
	}
}

// A Pause that arrives after the attempt ended must not stop the process,
// which is back in the pool for the next attempt.
func TestPauseAfterTheAttemptEndedLeavesTheProcessAlone(t *testing.T) {
	protocols(t, testPauseAfterTheAttemptEndedLeavesTheProcessAlone)
}

func testPauseAfterTheAttemptEndedLeavesTheProcessAlone(t *testing.T, chaos string) {
	m := open(t, withChaos(t, chaos, nil))
	r, _ := start(t, m, Attempt{Task: "chaos.noop"})
	r.Outcome()
	if err := r.Pause(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.PID()))
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); f[0] == "T" {
		t.Fatal("the pooled process was stopped by a pause of an attempt already over")
	}
	if out, _ := attempt(t, m, Attempt{Task: "chaos.noop", Timeout: 10 * time.Second}); out.Err != nil {
		t.Fatalf("next attempt: %v", out.Err)
	}
}
