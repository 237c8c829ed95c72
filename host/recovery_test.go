package host_test

import (
	"testing"

	"github.com/batchhost/batchhost/host"
)

// A job whose plugin is gone when it is dispatched (the plugin was removed
// while the host was down) fails at once with kind unknown_task: the same
// task would be unknown on every attempt, so none is retried.
func TestJobOfAPluginRemovedWhileDownFailsAsUnknownTask(t *testing.T) {
	h, cfg := openHost(t, nil)
	if err := h.PauseDispatch(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	id := submit(t, h, host.JobSpec{Task: "chaos.noop", MaxAttempts: 3})
	closeHost(t, h)

	cfg.PluginDir = t.TempDir()
	h = reopen(t, cfg)
	j := wait(t, h, id)
	if j.State != host.StateFailed || j.Error == nil || j.Error.Kind != "unknown_task" || j.Attempt != 1 {
		t.Fatalf("got %s after %d attempts, error %+v; want failed after 1 attempt, kind unknown_task", j.State, j.Attempt, j.Error)
	}
}
