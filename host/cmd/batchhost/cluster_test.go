package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
	"github.com/batchhost/batchhost/internal/testbin"
	"github.com/batchhost/batchhost/internal/testpg"
)

// clusterHost is one "batchhost serve" process of a shared queue, with a
// control client on its socket.
type clusterHost struct {
	proc *serveProc
	c    *control.Client
	mu   sync.Mutex
	log  strings.Builder // its stderr after it started serving
}

func (h *clusterHost) pid() int { return h.proc.cmd.Process.Pid }

// logText is what the host logged so far, for failure messages.
func (h *clusterHost) logText() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.proc.log.String() + h.log.String()
}

// migrated returns a fresh database with the queue's schema.
func migrated(t testing.TB) string {
	t.Helper()
	db := testpg.Database(t)
	if r := runCLI(t, map[string]string{"HOME": t.TempDir(), databaseEnv: db}, "", "migrate", "up"); r.code != 0 {
		t.Fatalf("migrate up: %s", r.stderr)
	}
	return db
}

// startClusterHost starts a real daemon on the shared queue db, with a
// data dir (its logs, socket and lock) of its own, and keeps reading its
// stderr so that it never blocks on a full pipe.
func startClusterHost(t testing.TB, db string, args ...string) *clusterHost {
	t.Helper()
	dir := shortDir(t)
	sock := filepath.Join(dir, "bh.sock")
	env := []string{"BATCHHOST_DATA_DIR=" + dir, "BATCHHOST_SOCKET=" + sock, databaseEnv + "=" + db}
	h := &clusterHost{proc: startServe(t, env, append([]string{"--plugin-dir", pluginDir}, args...)...)}
	go func() {
		for l := range h.proc.lines {
			h.mu.Lock()
			h.log.WriteString(l + "\n")
			h.mu.Unlock()
		}
	}()
	c, err := control.Dial(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h.c = c
	return h
}

// stop ends a host as an operator would (SIGTERM, drain) and waits for it.
func (h *clusterHost) stop(t testing.TB) {
	t.Helper()
	if err := h.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := h.proc.cmd.Wait(); err != nil {
		t.Errorf("host %d after SIGTERM: %v\n%s", h.pid(), err, h.logText())
	}
}

// alive reports whether a process is still there (not gone, not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && !strings.Contains(string(b), ") Z ")
}

// pluginPIDs lists the plugin processes running under a host.
func pluginPIDs(hostPID int) []int {
	var out []int
	for _, p := range testbin.Descendants(hostPID) {
		if strings.HasPrefix(p.Cmd, "batchhost-plugi") {
			out = append(out, p.PID)
		}
	}
	return out
}

// allJobs reads every stored job through one host, a page at a time.
func allJobs(t testing.TB, c *control.Client, f host.ListFilter) []*host.Job {
	t.Helper()
	var out []*host.Job
	f.Limit = 1000
	for {
		js, next, err := c.List(ctxT(t), f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, js...)
		if next == "" {
			return out
		}
		f.Before = next
	}
}

// noOverlap checks that the attempts of one job, in order, never ran at
// once: each ended (its record says when) before the next started. It
// returns the problem, or "".
func noOverlap(j *host.Job) string {
	for i, a := range j.Attempts {
		if a.Host == "" {
			return "attempt " + strconv.Itoa(a.Attempt) + " names no host"
		}
		if i+1 == len(j.Attempts) {
			break
		}
		next := j.Attempts[i+1]
		if a.FinishedAt == nil {
			return "attempt " + strconv.Itoa(a.Attempt) + " has no end though attempt " + strconv.Itoa(next.Attempt) + " followed it"
		}
		if a.FinishedAt.After(next.StartedAt) {
			return "attempt " + strconv.Itoa(a.Attempt) + " on " + a.Host + " ended at " + a.FinishedAt.Format(time.RFC3339Nano) +
				", after attempt " + strconv.Itoa(next.Attempt) + " started on " + next.Host + " at " + next.StartedAt.Format(time.RFC3339Nano)
		}
	}
	return ""
}
