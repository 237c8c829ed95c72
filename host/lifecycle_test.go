package host_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/hosttest"
)

func TestRetentionPrunesFinishedJobsAndTheirLogs(t *testing.T) {
	clk := hosttest.NewClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	h, cfg := openHost(t, func(c *host.Config) { c.Clock = clk; c.Retention = 24 * time.Hour })
	ctx := ctxT(t)
	old := submit(t, h, host.JobSpec{Task: "chaos.progress", Args: map[string]int{"steps": 2, "ms": 1}, Key: "old-key"})
	wait(t, h, old)
	if logs, _ := h.Logs(ctx, old); len(logs) != 2 {
		t.Fatalf("logs before pruning: %d", len(logs))
	}
	closeHost(t, h)
	clk.Advance(25 * time.Hour)
	h = reopen(t, cfg)
	fresh := submit(t, h, host.JobSpec{Task: "chaos.noop"})
	wait(t, h, fresh)
	if _, err := h.Get(ctx, old); !errors.Is(err, host.ErrNotFound) {
		t.Fatalf("expired job still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "logs", old+".jsonl")); !os.IsNotExist(err) {
		t.Fatalf("log of the pruned job: %v", err)
	}
	// Its idempotency key is free again.
	if id := submit(t, h, host.JobSpec{Task: "chaos.noop", Key: "old-key"}); id == old {
		t.Fatal("key still maps to the pruned job")
	}
	if _, err := h.Get(ctx, fresh); err != nil {
		t.Fatalf("fresh job pruned: %v", err)
	}
}

func TestWaitingJobsDoNotCountAgainstTheQueueLimit(t *testing.T) {
	h, _ := openHost(t, func(c *host.Config) { c.MaxQueueSize = 1 })
	ctx := ctxT(t)
	h.PauseDispatch(ctx)
	a := submit(t, h, host.JobSpec{Task: "chaos.noop"})
	var waiting []string
	for range 3 {
		waiting = append(waiting, submit(t, h, host.JobSpec{Task: "chaos.noop", DependsOn: host.After(a)}))
	}
	if _, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop"}); !errors.Is(err, host.ErrQueueFull) {
		t.Fatalf("second ready job: %v", err)
	}
	h.ResumeDispatch(ctx)
	for _, id := range waiting {
		if j := wait(t, h, id); j.State != host.StateCompleted {
			t.Fatalf("%s", j.State)
		}
	}
}

func TestUnknownLimitIsAWarningNotAnError(t *testing.T) {
	h, _ := openHost(t, func(c *host.Config) { c.Limits = map[string]int{"docs.ocr": 2, "chaos": 3} })
	probs := h.Problems()
	if len(probs) != 1 || !strings.Contains(probs[0].Error(), `"docs.ocr"`) {
		t.Fatalf("problems %v", probs)
	}
	if j := wait(t, h, submit(t, h, host.JobSpec{Task: "chaos.noop"})); j.State != host.StateCompleted {
		t.Fatal(j.State)
	}
}

func TestCorruptDatabaseIsRefusedAndKept(t *testing.T) {
	dir := t.TempDir()
	junk := []byte("this is not a database\n")
	if err := os.WriteFile(filepath.Join(dir, "batchhost.db"), junk, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := host.Open(host.Config{DataDir: dir, PluginDir: pluginDir})
	if err == nil || !strings.Contains(err.Error(), "batchhost.db") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Open on a junk file: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "batchhost.db")); string(b) != string(junk) {
		t.Fatal("the junk file was changed")
	}
}

func TestExecAllowlistFromHostConfig(t *testing.T) {
	h, _ := openHost(t, func(c *host.Config) { c.ExecAllow = []string{"echo"} })
	ok := wait(t, h, submit(t, h, host.JobSpec{Task: "exec.run", Args: map[string]any{"argv": []string{"echo", "hi"}}}))
	if ok.State != host.StateCompleted {
		t.Fatalf("allowed command: %s %+v", ok.State, ok.Error)
	}
	no := wait(t, h, submit(t, h, host.JobSpec{Task: "exec.run", Args: map[string]any{"argv": []string{"true"}}}))
	if no.State != host.StateFailed || no.Attempt != 1 || no.Error.Kind != "permanent" || !strings.Contains(no.Error.Message, "BATCHHOST_EXEC_ALLOW") {
		t.Fatalf("refused command: %s attempt %d %+v", no.State, no.Attempt, no.Error)
	}
}
