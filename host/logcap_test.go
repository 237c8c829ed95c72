package host_test

import (
	"os"
	"path/filepath"
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

// The logs of all jobs stay under MaxLogTotalBytes: jobs that log past it
// remove the logs of the least recently written finished jobs, the newest
// logs are whole, and when only a running job's log is left, its records
// past the cap are dropped and counted.
func TestJobLogsStayUnderTheTotalCap(t *testing.T) {
	const total = 64 << 10
	h, cfg := openHost(t, func(c *host.Config) { c.MaxLogBytes = -1; c.MaxLogTotalBytes = total })
	ctx := ctxT(t)
	var ids []string
	for range 8 {
		// About 13 KiB of records each: eight of them are 100 KiB.
		id := submit(t, h, host.JobSpec{Task: "chaos.log", Args: map[string]int{"lines": 200}})
		if j := wait(t, h, id); j.State != host.StateCompleted {
			t.Fatalf("logging job: %s %+v", j.State, j.Error)
		}
		ids = append(ids, id)
	}
	logBytes := func() int64 {
		ents, err := os.ReadDir(filepath.Join(cfg.DataDir, "logs"))
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, e := range ents {
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			n += fi.Size()
		}
		return n
	}
	if n := logBytes(); n > total {
		t.Fatalf("logs hold %d bytes, total cap %d", n, total)
	}
	count := func(id string) int {
		recs, err := h.Logs(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}
	if n := count(ids[0]); n != 0 {
		t.Errorf("the oldest job's log has %d records, want it removed", n)
	}
	if n := count(ids[len(ids)-1]); n != 200 {
		t.Errorf("the newest job's log has %d records, want all 200", n)
	}
	if j, err := h.Get(ctx, ids[0]); err != nil || j.State != host.StateCompleted {
		t.Errorf("the oldest job after its log was removed: %v %v", j, err)
	}
	// One job logging more than the total by itself: every finished log
	// goes, then its own records past the cap are counted.
	id := submit(t, h, host.JobSpec{Task: "chaos.log", Args: map[string]int{"lines": 1500}})
	if j := wait(t, h, id); j.State != host.StateCompleted {
		t.Fatalf("flooding job: %s %+v", j.State, j.Error)
	}
	recs, err := h.Logs(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 {
		t.Fatalf("flooding job kept %d records", len(recs))
	}
	if last := recs[len(recs)-1]; last.Level != "warn" || !strings.Contains(last.Message, "all jobs' logs") {
		t.Fatalf("last record %+v, want the marker of the dropped records", last)
	}
	if n := logBytes(); n > total+1024 {
		t.Fatalf("logs hold %d bytes, total cap %d and a marker", n, total)
	}
	if _, err := host.Open(host.Config{DataDir: t.TempDir(), PluginDir: pluginDir, MaxLogTotalBytes: -2}); err == nil || !strings.Contains(err.Error(), "MaxLogTotalBytes") {
		t.Errorf("MaxLogTotalBytes -2: %v, want refused naming it", err)
	}
}
