package host_test

import (
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host"
)

// A task that floods its log fills only its cap: the job completes, its
// log holds what fitted and one record saying how many were dropped, and
// the host goes on.
func TestJobLogStopsAtItsCap(t *testing.T) {
	h, _ := openHost(t, func(c *host.Config) { c.MaxLogBytes = 16 << 10 })
	ctx := ctxT(t)
	id := submit(t, h, host.JobSpec{Task: "chaos.log", Args: map[string]int{"lines": 2000}})
	if j := wait(t, h, id); j.State != host.StateCompleted {
		t.Fatalf("flooding job: %s %+v", j.State, j.Error)
	}
	recs, err := h.Logs(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 || len(recs) >= 2000 {
		t.Fatalf("%d log records kept of 2000 with a 16 KiB cap", len(recs))
	}
	last := recs[len(recs)-1]
	if last.Level != "warn" || !strings.Contains(last.Message, "were dropped") || last.Attempt != 1 {
		t.Fatalf("last record %+v, want the marker of the dropped records", last)
	}
	size := 0
	for _, r := range recs[:len(recs)-1] {
		size += len(r.Message) + 100 // the message and a record's JSON around it
	}
	if size > 2*(16<<10) {
		t.Errorf("kept about %d bytes of records, cap 16 KiB", size)
	}
	if j := wait(t, h, submit(t, h, host.JobSpec{Task: "chaos.noop"})); j.State != host.StateCompleted {
		t.Fatalf("the next job: %s", j.State)
	}
	if _, err := host.Open(host.Config{DataDir: t.TempDir(), PluginDir: pluginDir, MaxLogBytes: -2}); err == nil || !strings.Contains(err.Error(), "MaxLogBytes") {
		t.Errorf("MaxLogBytes -2: %v, want refused naming it", err)
	}
}
