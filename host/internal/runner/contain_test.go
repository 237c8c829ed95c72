package runner

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/internal/testbin"
)

// escapees is a shell script that starts sleepers trying every way out of
// the command's process group: a new session, and a new session whose
// leader exits at once, leaving its child to the init process. Their
// output goes nowhere, so that no pipe ties them to the plugin. Then it
// says "started" and runs rest.
func escapees(rest string) string {
	return "setsid sleep 300 </dev/null >/dev/null 2>&1 &\n" +
		"setsid sh -c 'sleep 300 </dev/null >/dev/null 2>&1 &' </dev/null >/dev/null 2>&1\n" +
		"echo started\n" + rest
}

// execArgs runs script under sh, tagged with tag in its environment
// (which the sleepers inherit, wherever they end up).
func execArgs(t testing.TB, tag, script string) []byte {
	k, v, _ := strings.Cut(tag, "=")
	b, err := json.Marshal(map[string]any{"argv": []string{"sh", "-c", script}, "env": map[string]string{k: v}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNoProcessOutlivesItsAttempt: whatever an attempt's command starts,
// in a group or session of its own or double-forked, is gone when the
// attempt ends: by returning, by a cancel, by its timeout, or by the
// host's shutdown; with cgroup v2 and with the tree walk.
func TestNoProcessOutlivesItsAttempt(t *testing.T) {
	for _, mode := range []string{"cgroup", "tree"} {
		t.Run(mode, func(t *testing.T) {
			m0 := open(t, func(c *Config) { c.Dir = t.TempDir(); c.treeWalk = mode == "tree" })
			if mode == "cgroup" {
				if _, ok := m0.contain.(*cgroups); !ok {
					t.Skip("cgroup v2 cannot be used here")
				}
			}
			for _, end := range []string{"return", "cancel", "timeout", "shutdown"} {
				t.Run(end, func(t *testing.T) {
					m := open(t, func(c *Config) {
						c.Dir = pluginDir(t, map[string]string{"batchhost-plugin-exec": execBin})
						c.treeWalk = mode == "tree"
					})
					tag := fmt.Sprintf("BH_RUNNER_TAG=%d", rand.Int64())
					rest := "exec sleep 300\n"
					if end == "return" {
						rest = "exit 0\n"
					}
					a := Attempt{JobID: "x", Attempt: 1, Task: "exec.run", Args: execArgs(t, tag, escapees(rest))}
					if end == "timeout" {
						a.Timeout = 2 * time.Second
					}
					started := make(chan struct{}, 1)
					r, err := m.Start(t.Context(), a, func(e Event) {
						if e.Kind == EventLog && e.Message == "started" {
							started <- struct{}{}
						}
					})
					if err != nil {
						t.Fatal(err)
					}
					<-started
					if end != "return" {
						waitTagged(t, tag, 3, "the command and 2 sleepers")
					}
					switch end {
					case "cancel":
						r.Cancel(ErrCanceled)
					case "shutdown":
						r.Cancel(ErrInterrupted)
					}
					out := r.Outcome()
					wantKind := map[string]errkind.Kind{"cancel": errkind.Canceled, "timeout": errkind.Timeout, "shutdown": errkind.Interrupted}[end]
					if (out.Err == nil) != (wantKind == "") || (out.Err != nil && out.Err.Kind != wantKind) {
						t.Fatalf("outcome %+v, want kind %q", out.Err, wantKind)
					}
					if end == "shutdown" {
						m.Close()
					}
					waitGone(t, tag, "after the attempt ended ("+end+")")
				})
			}
		})
	}
}

// TestEveryAttemptOfOneProcessIsCleanedUp: one plugin process runs
// attempt after attempt, each leaving escapees behind; each attempt's are
// killed when it ends, so the cgroup's process list is read afresh for
// every attempt, not once per process.
func TestEveryAttemptOfOneProcessIsCleanedUp(t *testing.T) {
	m := open(t, func(c *Config) {
		c.Dir = pluginDir(t, map[string]string{"batchhost-plugin-exec": execBin})
	})
	if _, ok := m.contain.(*cgroups); !ok {
		t.Skip("cgroup v2 cannot be used here") // the tree walk reads /proc afresh by nature
	}
	pids := map[int]bool{}
	for i := range 3 {
		tag := fmt.Sprintf("BH_RUNNER_TAG=%d", rand.Int64())
		a := Attempt{JobID: fmt.Sprintf("x%d", i), Attempt: 1, Task: "exec.run", Args: execArgs(t, tag, escapees("exit 0\n"))}
		r, err := m.Start(t.Context(), a, func(Event) {})
		if err != nil {
			t.Fatal(err)
		}
		if out := r.Outcome(); out.Err != nil {
			t.Fatalf("attempt %d: %+v", i, out.Err)
		}
		pids[r.PID()] = true
		waitGone(t, tag, fmt.Sprintf("after attempt %d of one process ended", i+1))
	}
	if len(pids) != 1 {
		t.Fatalf("the attempts ran in %d processes, want one (the test needs a process reused)", len(pids))
	}
}

// TestHostKilledLeavesNoAttemptProcesses: a host killed with SIGKILL
// cannot clean up; what its attempts started (here in sessions of their
// own, double-forked) is killed when the next host starts, before it runs
// anything.
func TestHostKilledLeavesNoAttemptProcesses(t *testing.T) {
	for _, mode := range []string{"cgroup", "tree"} {
		t.Run(mode, func(t *testing.T) {
			m0 := open(t, func(c *Config) { c.Dir = t.TempDir(); c.treeWalk = mode == "tree" })
			if _, ok := m0.contain.(*cgroups); !ok && mode == "cgroup" {
				t.Skip("cgroup v2 cannot be used here")
			}
			dir := pluginDir(t, map[string]string{"batchhost-plugin-exec": execBin})
			tag := fmt.Sprintf("BH_RUNNER_TAG=%d", rand.Int64())
			args := string(execArgs(t, tag, escapees("exec sleep 300\n")))
			env := []string{"HELPER_TASK=exec.run", "HELPER_ARGS=" + args}
			if mode == "tree" {
				env = append(env, "HELPER_TREE=1")
			}
			cmd := startHelper(t, dir, "HELPER_UNUSED=1", env...)
			// The helper says ready once both attempts have a process;
			// their commands start a moment later.
			deadline := time.Now().Add(10 * time.Second)
			for len(testbin.FindByEnv(tag)) < 6 {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("%d tagged processes, want 2 commands with 2 sleepers each", len(testbin.FindByEnv(tag)))
				}
				time.Sleep(10 * time.Millisecond) // the helper's commands have no event to wait on
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			// The plugins die with their host (the lifeline); the
			// sleepers do not.
			waitPluginsGone(t, "HELPER_UNUSED=1")
			if n := len(testbin.FindByEnv(tag)); n == 0 {
				t.Fatal("nothing left by the killed host: the test proves nothing")
			}
			open(t, func(c *Config) { c.Dir = t.TempDir(); c.treeWalk = mode == "tree" })
			waitGone(t, tag, "after the next host started")
		})
	}
}

// waitPluginsGone waits for the killed helper's plugin processes to exit.
func waitPluginsGone(t *testing.T, tag string) {
	t.Helper()
	waitGone(t, tag, "plugins of the killed host")
}
