package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/internal/testbin"
)

// installPlugin puts bin into dir under name as an installer does: a new
// file renamed over the old one, which a running process of the old one
// does not notice.
func installPlugin(t testing.TB, dir, name, bin string) {
	t.Helper()
	tmp := filepath.Join(dir, ".new-"+name)
	if err := os.Link(bin, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// fifo makes a named pipe: a task reading it blocks until the test
// releases it (see release).
func fifo(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "release")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// release lets the task reading the named pipe p go on: it opens p for
// writing (which waits for the reader) and closes it, an end of file.
func release(t testing.TB, p string) {
	t.Helper()
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

type swapOut struct {
	Version string `json:"version"`
	PID     int    `json:"pid"`
}

func decodeSwap(t testing.TB, out Outcome) swapOut {
	t.Helper()
	if out.Err != nil {
		t.Fatalf("attempt failed: %v", out.Err)
	}
	var o swapOut
	if err := json.Unmarshal(out.Output, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestReloadSwapsARebuiltPlugin: after a rebuilt plugin is installed and
// the plugins reloaded, the attempt that was running finishes on the old
// process, which then stops; new attempts run on the new build; a task
// the new build dropped is unknown, saying why.
func TestReloadSwapsARebuiltPlugin(t *testing.T) {
	dir := pluginDir(t, map[string]string{"batchhost-plugin-swap": swap1Bin, "batchhost-plugin-chaos": chaosBin})
	m := open(t, func(c *Config) { c.Dir = dir })
	ctx := context.Background()
	pipe := fifo(t)
	blocking := make(chan struct{})
	old, err := m.Start(ctx, Attempt{JobID: "old", Attempt: 1, Task: "swap.block", Args: fmt.Appendf(nil, `{"fifo":%q}`, pipe)}, func(e Event) {
		if e.Message == "blocking" {
			close(blocking)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	<-blocking
	oldPID := old.PID()

	installPlugin(t, dir, "batchhost-plugin-swap", swap2Bin)
	rep, err := m.Reload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "batchhost-plugin-swap")
	want := ReloadReport{
		Changed: []PluginChange{{
			Old: PluginInfo{Name: "swap", Version: "1.0.0", Path: path, Tasks: []string{"swap.version", "swap.block", "swap.old"}, Processes: 1},
			New: PluginInfo{Name: "swap", Version: "2.0.0", Path: path, Tasks: []string{"swap.version", "swap.block", "swap.new"}, Processes: 1, Retiring: 1},
		}},
		Unchanged: []string{"chaos"},
	}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}

	// A new attempt runs on the new build, in a process of its own.
	out, _ := attempt(t, m, Attempt{Task: "swap.version"})
	if got := decodeSwap(t, out); got.Version != "2.0.0" || got.PID == oldPID {
		t.Errorf("new attempt ran on version %s in process %d (the old one is %d), want 2.0.0 in another", got.Version, got.PID, oldPID)
	}
	if _, err := m.Start(ctx, Attempt{JobID: "gone", Attempt: 1, Task: "swap.old"}, nil); !errors.Is(err, ErrUnknownTask) || !strings.Contains(err.Error(), "swap 2.0.0") || !strings.Contains(err.Error(), "no longer offers it") {
		t.Errorf("a task the new build dropped: %v, want unknown task saying the reload loaded swap 2.0.0, which no longer offers it", err)
	}

	// The running attempt finishes on the old process, which then stops.
	release(t, pipe)
	if got := decodeSwap(t, old.Outcome()); got.Version != "1.0.0" || got.PID != oldPID {
		t.Errorf("old attempt ended on version %s in process %d, want 1.0.0 in %d", got.Version, got.PID, oldPID)
	}
	if !testbin.WaitExit(oldPID, 10*time.Second) {
		t.Errorf("the old build's process %d still runs after its last attempt", oldPID)
	}
	for _, p := range m.Plugins() {
		if p.Name == "swap" && (p.Retiring != 0 || p.Version != "2.0.0") {
			t.Errorf("after the old attempt: %+v, want version 2.0.0 and nothing retiring", p)
		}
	}
}

// TestReloadAddsAndRemovesPlugins: a reload loads new files, forgets
// removed ones (their tasks are unknown, saying why), keeps unchanged ones
// without launching them, and reports the scan's problems, which replace
// the earlier ones.
func TestReloadAddsAndRemovesPlugins(t *testing.T) {
	dir := pluginDir(t, map[string]string{"batchhost-plugin-swap": swap1Bin, "batchhost-plugin-chaos": chaosBin})
	m := open(t, func(c *Config) { c.Dir = dir })
	starts := m.PluginStarts()["swap"]

	if err := os.Remove(filepath.Join(dir, "batchhost-plugin-chaos")); err != nil {
		t.Fatal(err)
	}
	installPlugin(t, dir, "batchhost-plugin-fresh", freshBin)
	installPlugin(t, dir, "batchhost-plugin-bogus", bogusBin)
	rep, err := m.Reload(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	names := func(ps []PluginInfo) (out []string) {
		for _, p := range ps {
			out = append(out, p.Name+" "+p.Version)
		}
		return out
	}
	if diff := cmp.Diff([]string{"fresh 0.0.1"}, names(rep.Added)); diff != "" {
		t.Errorf("added (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"chaos 1.0.0"}, names(rep.Removed)); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"swap"}, rep.Unchanged); diff != "" || len(rep.Changed) != 0 {
		t.Errorf("unchanged (-want +got):\n%s; changed %+v", diff, rep.Changed)
	}
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Error(), "batchhost-plugin-bogus") {
		t.Errorf("problems %v, want one naming batchhost-plugin-bogus", rep.Problems)
	}
	if diff := cmp.Diff(fmt.Sprint(rep.Problems), fmt.Sprint(m.Problems())); diff != "" {
		t.Errorf("Problems after the reload (-report +Problems):\n%s", diff)
	}
	if got := m.PluginStarts()["swap"]; got != starts {
		t.Errorf("the unchanged plugin was launched again: %d starts, was %d", got, starts)
	}
	if _, err := m.Start(context.Background(), Attempt{JobID: "j", Attempt: 1, Task: "chaos.noop"}, nil); !errors.Is(err, ErrUnknownTask) || !strings.Contains(err.Error(), "found no plugin chaos") {
		t.Errorf("a removed plugin's task: %v, want unknown task saying the reload found no plugin chaos", err)
	}
	out, _ := attempt(t, m, Attempt{Task: "fresh.pid"})
	if out.Err != nil {
		t.Errorf("the added plugin's task: %v", out.Err)
	}
}

// TestReloadOfAClosedManager is an error, and changes nothing.
func TestReloadOfAClosedManager(t *testing.T) {
	m, err := Open(Config{Dir: pluginDir(t, map[string]string{"batchhost-plugin-swap": swap1Bin})})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Reload(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Reload after Close: %v, want ErrClosed", err)
	}
}

// TestReloadMovesWaitingAttempts: attempts waiting for a process of a
// plugin when it is reloaded go to the new build, or fail as unknown_task
// if it dropped their task; the launches under way for the old build end
// in processes that are stopped, not used.
func TestReloadMovesWaitingAttempts(t *testing.T) {
	dir := t.TempDir()
	// The old build behind a gate: once the gate (a named pipe) exists,
	// a launch says it arrived (a line into the named pipe arrived) and
	// waits for a line from the gate.
	gate, arrived := filepath.Join(t.TempDir(), "gate"), fifo(t)
	script := fmt.Sprintf("#!/bin/sh\nif [ -p '%s' ]; then echo >'%s'; read _ <'%s'; fi\nexec '%s' \"$@\"\n", gate, arrived, gate, swap1Bin)
	if err := os.WriteFile(filepath.Join(dir, "batchhost-plugin-swap"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	m := open(t, func(c *Config) { c.Dir = dir })
	ctx := context.Background()
	// The process launched at Open runs this one to the end of the test.
	pipe := fifo(t)
	blocking := make(chan struct{})
	busy, err := m.Start(ctx, Attempt{JobID: "busy", Attempt: 1, Task: "swap.block", Args: fmt.Appendf(nil, `{"fifo":%q}`, pipe)}, func(e Event) {
		if e.Message == "blocking" {
			close(blocking)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	<-blocking
	if err := syscall.Mkfifo(gate, 0o600); err != nil {
		t.Fatal(err)
	}
	// Held open, so that a launch's read of the gate waits for a line,
	// whenever it opens it.
	gateW, err := os.OpenFile(gate, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer gateW.Close()
	// Both wait for launches of the old build, held at the gate.
	moved, _ := start(t, m, Attempt{JobID: "moved", Task: "swap.version"})
	dropped, _ := start(t, m, Attempt{JobID: "dropped", Task: "swap.old"})
	for n := 0; n < 2; {
		b, err := os.ReadFile(arrived) // until the launches that wrote have closed it
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count(string(b), "\n")
	}

	installPlugin(t, dir, "batchhost-plugin-swap", swap2Bin)
	if _, err := m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := decodeSwap(t, moved.Outcome()); got.Version != "2.0.0" {
		t.Errorf("the waiting attempt ran on version %s, want the new build's 2.0.0", got.Version)
	}
	if out := dropped.Outcome(); out.Err == nil || out.Err.Kind != "unknown_task" || !strings.Contains(out.Err.Message, "no longer offers it") {
		t.Errorf("the waiting attempt of the dropped task: %+v, want unknown_task saying the new build no longer offers it", out.Err)
	}
	// A line each: the old launches finish, and their processes are stopped.
	if _, err := gateW.WriteString("\n\n"); err != nil {
		t.Fatal(err)
	}
	release(t, pipe)
	if got := decodeSwap(t, busy.Outcome()); got.Version != "1.0.0" {
		t.Errorf("the running attempt ended on version %s, want 1.0.0", got.Version)
	}
	// open's cleanup checks that no process is left after Close.
}
