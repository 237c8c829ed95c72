package runner

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/batchhost/batchhost/internal/testbin"
)

// openFDs counts this process's open file descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// script writes an executable shell script named name into dir.
func script(t testing.TB, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitGone waits until no live process carries the environment entry tag,
// or fails the test. A SIGKILL is delivered asynchronously and another
// process's death has no event to wait on, so this polls.
func waitGone(t testing.TB, tag, what string) {
	t.Helper()
	if left, ok := waitTags(tag, func(n int) bool { return n == 0 }); !ok {
		t.Fatalf("%s: processes left: %+v", what, left)
	}
}

// waitTagged waits until at least n processes carry tag. A process that
// exists may still be missed for a moment: while it execs, its
// environment cannot be read (the sleepers of escapees exec twice, through
// setsid), and a loaded machine stretches that moment.
func waitTagged(t testing.TB, tag string, n int, what string) {
	t.Helper()
	if found, ok := waitTags(tag, func(got int) bool { return got >= n }); !ok {
		t.Fatalf("%d tagged processes running, want %s: %+v", len(found), what, found)
	}
}

// waitTags reads the processes that carry tag until their count is as
// done wants, for at most 3 s: nothing signals a process's start or end
// to an outsider, so /proc is read again every 10 ms.
func waitTags(tag string, done func(int) bool) ([]testbin.Proc, bool) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		found := testbin.FindByEnv(tag)
		if done(len(found)) {
			return found, true
		}
		if time.Now().After(deadline) {
			return found, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFailedStartLeavesNothing: a plugin that never completes its handshake,
// or answers it with garbage, has started children that hold its stdout
// and stderr. When its launch fails, its whole process group goes with it
// and every descriptor the launch opened is closed by the time Open
// returns.
func TestFailedStartLeavesNothing(t *testing.T) {
	for name, body := range map[string]string{
		"hang":    "sleep 300 &\nsleep 300 &\nexec sleep 300\n",
		"garbage": "sleep 300 &\necho not a handshake\nexec sleep 300\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			script(t, dir, "batchhost-plugin-"+name, body)
			tag := fmt.Sprintf("BH_RUNNER_TAG=%d", rand.Int64())
			// A first Open and Close, so that what the runtime opens once
			// (its poller) is not counted as a leak.
			warm, err := Open(Config{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			warm.Close()
			fds := openFDs(t)
			began := time.Now()
			m, err := Open(Config{Dir: dir, Env: []string{tag}, StartTimeout: time.Second,
				Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Off})})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("Open took %s with StartTimeout 1s", time.Since(began))
			if probs := m.Problems(); len(probs) != 1 || !strings.Contains(probs[0].Error(), "batchhost-plugin-"+name) {
				t.Fatalf("problems: %v", probs)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if n := openFDs(t); n != fds {
				t.Errorf("%d descriptors open after a failed start, %d before", n, fds)
			}
			if left := testbin.Descendants(os.Getpid()); len(left) > 0 {
				t.Errorf("children left: %+v", left)
			}
			waitGone(t, tag, "after a failed start")
		})
	}
}
