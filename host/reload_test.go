package host_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/internal/testbin"
)

// swapPkg is a test plugin built twice, as versions 1.0.0 and 2.0.0;
// version 2 offers task "new" where version 1 offered "old".
const swapPkg = "github.com/batchhost/batchhost/host/internal/runner/testdata/swapplugin"

var (
	swapOnce           sync.Once
	swap1Bin, swap2Bin string
	swapErr            error
)

// swapBins builds the two versions once per test binary (here rather than
// in TestMain, which only the reload tests need them for).
func swapBins(t testing.TB) (v1, v2 string) {
	t.Helper()
	swapOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bh-swap-")
		if err != nil {
			swapErr = err
			return
		}
		if swap1Bin, swapErr = testbin.BuildVersion(dir, "swap-1", swapPkg, "1.0.0"); swapErr == nil {
			swap2Bin, swapErr = testbin.BuildVersion(dir, "swap-2", swapPkg, "2.0.0")
		}
	})
	if swapErr != nil {
		t.Fatal(swapErr)
	}
	return swap1Bin, swap2Bin
}

// install puts bin into dir as the plugin name, renaming a new file over
// the old one as an installer does.
func install(t testing.TB, dir, name, bin string) {
	t.Helper()
	tmp := filepath.Join(dir, ".new")
	if err := os.Link(bin, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "batchhost-plugin-"+name)); err != nil {
		t.Fatal(err)
	}
}

type swapResult struct {
	Version string `json:"version"`
	PID     int    `json:"pid"`
}

func swapOf(t testing.TB, j *host.Job) swapResult {
	t.Helper()
	if j.State != host.StateCompleted {
		t.Fatalf("job %s (%s) is %s: %+v", j.ID, j.Task, j.State, j.Error)
	}
	var r swapResult
	if err := json.Unmarshal(j.Result, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReloadPluginsWhileAJobRuns: a plugin rebuilt and reloaded while a
// job of the old build runs. That job finishes on the old process, which
// then stops; a job queued for a task the new build dropped fails as
// unknown_task when it would start, saying why; a new job runs on the new
// build; no process is left.
func TestReloadPluginsWhileAJobRuns(t *testing.T) {
	v1, v2 := swapBins(t)
	dir := t.TempDir()
	install(t, dir, "swap", v1)
	h, cfg := openHost(t, func(c *host.Config) { c.PluginDir = dir; c.MaxWorkers = 1 })
	pipe := filepath.Join(t.TempDir(), "release")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	rec := record(t, h, host.EventFilter{})
	running := submit(t, h, host.JobSpec{Task: "swap.block", Args: map[string]string{"fifo": pipe}})
	rec.until(t, func(e host.Event) bool {
		return e.Type == host.EventJobLog && e.Job == running && e.Log.Message == "blocking"
	})
	queued := submit(t, h, host.JobSpec{Task: "swap.old"}) // behind the running job: one worker

	install(t, dir, "swap", v2)
	rep, err := h.ReloadPlugins(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changed) != 1 || rep.Changed[0].Old.Version != "1.0.0" || rep.Changed[0].New.Version != "2.0.0" || rep.Changed[0].New.Retiring != 1 ||
		len(rep.Added)+len(rep.Removed)+len(rep.Unchanged) != 0 {
		t.Fatalf("reload %+v, want swap changed from 1.0.0 to 2.0.0 with one process retiring", rep)
	}
	if _, err := h.Submit(ctxT(t), host.JobSpec{Task: "swap.old"}); !errors.Is(err, host.ErrUnknownTask) {
		t.Errorf("submit of the dropped task: %v, want ErrUnknownTask", err)
	}
	fresh := submit(t, h, host.JobSpec{Task: "swap.version"})

	// Release the running job.
	if err := os.WriteFile(pipe, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := swapOf(t, wait(t, h, running))
	if old.Version != "1.0.0" {
		t.Errorf("the running job ended on version %s, want 1.0.0 (its own process)", old.Version)
	}
	if nw := swapOf(t, wait(t, h, fresh)); cfg.Database != "" {
		// On a shared queue another host may serve the dropped task: the
		// job waits for one (it was queued before the fresh job, which
		// has run).
		if j, err := h.Get(ctxT(t), queued); err != nil || j.State != host.StateQueued || nw.Version != "2.0.0" {
			t.Fatalf("queued job of the dropped task on a shared queue: %+v %v; want it queued", j, err)
		}
		return
	}
	j := wait(t, h, queued)
	if j.State != host.StateFailed || j.Error == nil || j.Error.Kind != host.ErrorKind("unknown_task") || !strings.Contains(j.Error.Message, "no longer offers it") {
		t.Errorf("queued job of the dropped task: %s %+v, want failed as unknown_task saying the new build no longer offers it", j.State, j.Error)
	}
	if nw := swapOf(t, wait(t, h, fresh)); nw.Version != "2.0.0" || nw.PID == old.PID {
		t.Errorf("the new job ran on version %s in process %d (the old one was %d), want 2.0.0 in another", nw.Version, nw.PID, old.PID)
	}
	if !testbin.WaitExit(old.PID, 10*time.Second) {
		t.Errorf("the old build's process %d still runs after its job", old.PID)
	}
	ps := h.Plugins()
	if len(ps) != 1 || ps[0].Version != "2.0.0" || ps[0].Retiring != 0 || ps[0].Path != filepath.Join(dir, "batchhost-plugin-swap") {
		t.Errorf("plugins after the old job: %+v, want swap 2.0.0 with nothing retiring", ps)
	}
}
