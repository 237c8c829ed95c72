package web

import (
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/batchhost/batchhost/host"
)

// The figures only the runner and the store know come from a real host:
// live processes while a job runs, a crash counted after a crashing job,
// the age of the oldest ready job, counts by state and priority, the
// store's commit latency growing with commits, and a job's dependents on
// its page.
func TestMetricsFromTheHost(t *testing.T) {
	f := serve(t, Options{}, func(c *host.Config) { c.MaxWorkers = 1 })
	ctx := ctxT(t)
	need := func(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
		t.Helper()
		v, ok := value(fams, name, labels...)
		if !ok {
			t.Fatalf("/metrics has no %s%v", name, labels)
		}
		return v
	}

	crashed := submit(t, f.h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 5, "crash": true}, MaxAttempts: 1})
	if j := wait(t, f.h, crashed); j.State != host.StateFailed {
		t.Fatalf("crashing job ended %s", j.State)
	}
	fams := scrape(t, f)
	if v := need(fams, "batchhost_plugin_crashes_total", "plugin", "chaos", "kind", "exit"); v != 1 {
		t.Errorf("crashes after one crashing attempt: %v, want 1", v)
	}
	commits := need(fams, "batchhost_store_commit_seconds")
	if commits < 1 {
		t.Errorf("no store commit observed after a job ran")
	}

	// A job that reports progress has a live process.
	events := f.h.Subscribe(ctx, host.EventFilter{Types: []host.EventType{host.EventJobProgress}})
	sleeper := submit(t, f.h, host.JobSpec{Task: "chaos.progress", Args: map[string]int{"steps": 600, "ms": 100}})
	for ev := range events {
		if ev.Job == sleeper {
			break
		}
	}
	// The only worker is busy: this one stays ready.
	ready := submit(t, f.h, host.JobSpec{Task: "chaos.echo", Priority: host.PriorityHigh})
	fams = scrape(t, f)
	if v := need(fams, "batchhost_plugin_processes", "plugin", "chaos"); v < 1 {
		t.Errorf("live chaos processes while a job runs: %v", v)
	}
	if v := need(fams, "batchhost_plugin_process_starts_total", "plugin", "chaos"); v < 2 {
		t.Errorf("chaos process starts: %v, want at least 2 (discovery, after the crash)", v)
	}
	if v := need(fams, "batchhost_queue_oldest_age_seconds", "priority", "high"); v <= 0 {
		t.Errorf("oldest ready age of high: %v, want > 0", v)
	}
	if v := need(fams, "batchhost_queue_oldest_age_seconds", "priority", "normal"); v != 0 {
		t.Errorf("oldest ready age of normal (none ready): %v, want 0", v)
	}
	for _, c := range []struct {
		state, priority string
		want            float64
	}{{"running", "normal", 1}, {"queued", "high", 1}, {"queued", "normal", 0}, {"waiting", "low", 0}} {
		if v := need(fams, "batchhost_jobs_by_priority", "state", c.state, "priority", c.priority); v != c.want {
			t.Errorf("jobs %s/%s: %v, want %v", c.state, c.priority, v, c.want)
		}
	}
	if _, ok := value(fams, "batchhost_jobs_by_priority", "state", "completed"); ok {
		t.Errorf("finished jobs are counted by priority, though the host does not know them")
	}
	if v := need(fams, "batchhost_store_commit_seconds"); v <= commits {
		t.Errorf("store commits observed: %v after more jobs, %v before", v, commits)
	}
	_, body := f.get(t, "/")
	if !strings.Contains(body, `data-by-priority="running/normal">1<`) {
		t.Errorf("overview does not show counts by state and priority")
	}

	dependent, err := f.h.Submit(ctx, host.JobSpec{Task: "chaos.noop", DependsOn: []host.Dep{{Job: sleeper, Policy: host.DepIgnore}}})
	if err != nil {
		t.Fatal(err)
	}
	_, body = f.get(t, "/jobs/"+sleeper)
	dependents := body[strings.Index(body, "<h2>Dependents"):]
	if !strings.Contains(dependents, `href="/jobs/`+dependent+`"`) {
		t.Errorf("the sleeper's page does not list its dependent:\n%s", dependents)
	}
	if err := f.h.Cancel(ctx, sleeper); err != nil {
		t.Fatal(err)
	}
	wait(t, f.h, ready)
	wait(t, f.h, dependent)
}
