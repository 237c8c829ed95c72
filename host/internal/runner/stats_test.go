package runner

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// TestPluginCounters: the live processes, the starts and the unasked
// deaths of a plugin are counted, whether the process died in an attempt
// (by exit), while idle (by a signal) or never started (a broken binary).
func TestPluginCounters(t *testing.T) {
	protocols(t, func(t *testing.T, chaos string) {
		dir := pluginDir(t, map[string]string{"batchhost-plugin-chaos": chaos})
		m := open(t, func(c *Config) { c.Dir = dir; c.IdleTimeout = time.Hour })
		if got := m.PluginProcesses()["chaos"]; got != 1 {
			t.Fatalf("after discovery: %d processes, want the described one", got)
		}
		if got := m.PluginStarts()["chaos"]; got != 1 {
			t.Fatalf("after discovery: %d starts, want 1", got)
		}

		out, _ := attempt(t, m, Attempt{Task: "chaos.exit", Args: []byte(`{"code":3}`)})
		if out.Err == nil || out.Err.Exit != "exit status 3" {
			t.Fatalf("exit attempt: %+v", out.Err)
		}
		if got := m.PluginCrashes()["chaos"]; got[CrashExit] != 1 || len(got) != 1 {
			t.Fatalf("after an exit in an attempt: crashes %v, want exit 1", got)
		}

		// An idle process killed by someone else.
		r, _ := start(t, m, Attempt{Task: "chaos.noop"})
		<-r.Done()
		if err := syscall.Kill(r.PID(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if chaos == chaosV1Bin {
			// Version 1 processes are found dead when they are next
			// taken, once go-plugin has seen the exit.
			waitFor(t, "go-plugin to see the exit", func() bool {
				m.mu.Lock()
				defer m.mu.Unlock()
				idle := m.plugins["chaos"].idle
				return len(idle) == 1 && idle[0].client.Exited()
			})
		} else {
			waitFor(t, "the idle death counted", func() bool { return m.PluginCrashes()["chaos"][CrashSignal] == 1 })
		}
		if out, _ := attempt(t, m, Attempt{Task: "chaos.noop"}); out.Err != nil {
			t.Fatalf("attempt after the idle death: %v", out.Err)
		}
		if got := m.PluginCrashes()["chaos"]; got[CrashSignal] != 1 || len(got) != 2 {
			t.Fatalf("after an idle death: crashes %v, want exit 1 and signal 1", got)
		}
		if got := m.PluginStarts()["chaos"]; got != 3 {
			t.Errorf("%d starts, want 3 (discovery, after the exit, after the kill)", got)
		}
		if got := m.PluginProcesses()["chaos"]; got != 1 {
			t.Errorf("%d live processes, want 1", got)
		}

		// The binary is replaced by one that is no plugin: the next launch
		// fails to start.
		busy, _ := start(t, m, Attempt{Task: "chaos.sleep", Args: []byte(`{"ms":60000}`)})
		if err := os.Remove(dir + "/batchhost-plugin-chaos"); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(bogusBin, dir+"/batchhost-plugin-chaos"); err != nil {
			t.Fatal(err)
		}
		if out, _ := attempt(t, m, Attempt{Task: "chaos.noop"}); out.Err == nil {
			t.Fatal("an attempt on a broken binary succeeded")
		}
		if got := m.PluginCrashes()["chaos"][CrashStart]; got != 1 {
			t.Errorf("%d start failures counted, want 1", got)
		}
		busy.Cancel(ErrInterrupted)
		<-busy.Done()
	})
}

// waitFor waits until cond holds, checking it after each short pause: the
// condition is a counter another goroutine sets, with no event to wait on.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
