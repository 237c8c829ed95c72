package web

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/batchhost/batchhost/host"
)

// scrape reads /metrics with the Prometheus text parser.
func scrape(t *testing.T, f *fixture) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.ts.URL+"/metrics", nil)
	req.Header.Set("Accept", "text/plain")
	resp, err := f.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value finds the sample of family name whose labels include want and
// returns its counter, gauge or histogram count.
func value(fams map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	fam := fams[name]
	if fam == nil {
		return 0, false
	}
	for _, m := range fam.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(want); i += 2 {
			match = match && labels[want[i]] == want[i+1]
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// After a run of mixed jobs — completed, retried, failed by crash,
// canceled — the counters and histograms say what happened.
func TestMetricsAfterMixedRun(t *testing.T) {
	f := serve(t, Options{}, nil)
	var ids []string
	for i := range 3 {
		ids = append(ids, submit(t, f.h, host.JobSpec{Task: "chaos.echo", Args: map[string]int{"i": i}}))
	}
	retried := submit(t, f.h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 1}})
	crashed := submit(t, f.h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 5, "crash": true}, MaxAttempts: 2})
	sleeper := submit(t, f.h, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 60000}})
	for _, id := range append(ids, retried, crashed) {
		wait(t, f.h, id)
	}
	if j := wait(t, f.h, crashed); j.State != host.StateFailed || j.Error.Kind != "plugin_crashed" {
		t.Fatalf("crashing job: %s %+v", j.State, j.Error)
	}
	// Cancel the sleeper once it runs.
	waitState(t, f.h, sleeper, host.StateRunning)
	if err := f.h.Cancel(ctxT(t), sleeper); err != nil {
		t.Fatal(err)
	}
	wait(t, f.h, sleeper)

	want := []struct {
		name   string
		labels []string
		v      float64
	}{
		{"batchhost_jobs_submitted_total", []string{"task", "chaos.echo"}, 3},
		{"batchhost_jobs_submitted_total", []string{"task", "chaos.fail"}, 2},
		{"batchhost_jobs_finished_total", []string{"task", "chaos.echo", "outcome", "completed"}, 3},
		{"batchhost_jobs_finished_total", []string{"task", "chaos.fail", "outcome", "completed"}, 1},
		{"batchhost_jobs_finished_total", []string{"task", "chaos.fail", "outcome", "failed"}, 1},
		{"batchhost_jobs_finished_total", []string{"task", "chaos.sleep", "outcome", "canceled"}, 1},
		{"batchhost_attempt_failures_total", []string{"task", "chaos.fail", "kind", "task_error"}, 1},
		{"batchhost_attempt_failures_total", []string{"task", "chaos.fail", "kind", "plugin_crashed"}, 2},
		{"batchhost_attempt_failures_total", []string{"task", "chaos.sleep", "kind", "canceled"}, 1},
		{"batchhost_plugin_crashes_total", []string{"plugin", "chaos", "kind", "exit"}, 2},
		{"batchhost_attempt_duration_seconds", []string{"task", "chaos.echo", "outcome", "completed"}, 3},
		{"batchhost_attempt_duration_seconds", []string{"task", "chaos.fail", "outcome", "retry"}, 2},
		{"batchhost_attempt_duration_seconds", []string{"task", "chaos.fail", "outcome", "completed"}, 1},
		{"batchhost_attempt_duration_seconds", []string{"task", "chaos.fail", "outcome", "failed"}, 1},
		{"batchhost_attempt_duration_seconds", []string{"task", "chaos.sleep", "outcome", "canceled"}, 1},
		{"batchhost_queue_wait_seconds", []string{"task", "chaos.echo"}, 3},
		{"batchhost_queue_wait_seconds", []string{"task", "chaos.fail"}, 4},
		{"batchhost_jobs", []string{"state", "completed"}, 4},
		{"batchhost_jobs", []string{"state", "failed"}, 1},
		{"batchhost_jobs", []string{"state", "canceled"}, 1},
		{"batchhost_jobs", []string{"state", "queued"}, 0},
		{"batchhost_jobs_queued", []string{"priority", "normal"}, 0},
		{"batchhost_workers", nil, 4},
		{"batchhost_workers_busy", nil, 0},
		{"batchhost_dispatch_paused", nil, 0},
	}
	// The dashboard sees events a moment after the host's waiters: scrape
	// until the last event shows, then compare everything.
	var fams map[string]*dto.MetricFamily
	deadline := time.Now().Add(20 * time.Second)
	for {
		fams = scrape(t, f)
		if v, _ := value(fams, "batchhost_jobs_finished_total", "task", "chaos.sleep", "outcome", "canceled"); v == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, w := range want {
		got, ok := value(fams, w.name, w.labels...)
		if !ok || got != w.v {
			t.Errorf("%s%v = %v (present %v), want %v", w.name, w.labels, got, ok, w.v)
		}
	}
	// Histogram buckets are cumulative and end at the count; durations
	// are seconds, so the echo attempts sit in the low buckets.
	for _, m := range fams["batchhost_attempt_duration_seconds"].Metric {
		h := m.Histogram
		if b := h.Bucket; len(b) == 0 || b[len(b)-1].GetCumulativeCount() > h.GetSampleCount() {
			t.Errorf("bad histogram %v", h)
		}
		if h.GetSampleSum() < 0 || h.GetSampleSum() > 120 {
			t.Errorf("attempt durations sum to %vs: not seconds?", h.GetSampleSum())
		}
	}
	// No job id is ever a label value.
	all := append(ids, retried, crashed, sleeper)
	for name, fam := range fams {
		for _, m := range fam.Metric {
			for _, l := range m.Label {
				if slices.Contains(all, l.GetValue()) || strings.Contains(l.GetName(), "job") {
					t.Errorf("%s has a job label %s=%s", name, l.GetName(), l.GetValue())
				}
			}
		}
		if !strings.HasPrefix(name, "batchhost_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("metric %s is outside the batchhost_ namespace", name)
		}
	}
}

// Optional sources the host does not offer yet appear once supplied.
func TestMetricsFromOptionalSources(t *testing.T) {
	var observe func(time.Duration, int)
	f := serve(t, Options{Sources: Sources{
		PluginProcesses: func() map[string]int { return map[string]int{"chaos": 2} },
		PluginStarts:    func() map[string]uint64 { return map[string]uint64{"chaos": 5} },
		PluginCrashes:   func() map[string]map[string]uint64 { return map[string]map[string]uint64{"chaos": {"signal": 1}} },
		OldestReady: func() map[host.Priority]time.Time {
			return map[host.Priority]time.Time{host.PriorityHigh: time.Now().Add(-time.Minute)}
		},
		CountsByPriority: nil,
		ObserveCommits: func(fn func(time.Duration, int)) func() {
			observe = fn
			return func() {}
		},
	}}, nil)
	observe(3*time.Millisecond, 17)
	fams := scrape(t, f)
	for _, c := range []struct {
		name   string
		labels []string
		min    float64
		max    float64
	}{
		{"batchhost_plugin_processes", []string{"plugin", "chaos"}, 2, 2},
		{"batchhost_plugin_process_starts_total", []string{"plugin", "chaos"}, 5, 5},
		{"batchhost_plugin_crashes_total", []string{"plugin", "chaos", "kind", "signal"}, 1, 1},
		{"batchhost_queue_oldest_age_seconds", []string{"priority", "high"}, 59, 600},
		{"batchhost_queue_oldest_age_seconds", []string{"priority", "low"}, 0, 0},
		{"batchhost_store_commit_seconds", nil, 1, 1},
		{"batchhost_store_commit_batch_size", nil, 1, 1},
	} {
		if v, ok := value(fams, c.name, c.labels...); !ok || v < c.min || v > c.max {
			t.Errorf("%s%v = %v (present %v), want %v..%v", c.name, c.labels, v, ok, c.min, c.max)
		}
	}
	_, body := f.get(t, "/")
	if !strings.Contains(body, `<td class="num">2</td><td class="num">5</td><td class="num">1</td>`) {
		t.Errorf("overview does not show the plugin's processes, starts and crashes")
	}
}

// waitState waits for a job to reach a state, by its events.
func waitState(t *testing.T, h *host.Host, id string, st host.State) {
	t.Helper()
	ctx := ctxT(t)
	events := h.Subscribe(ctx, host.EventFilter{Jobs: []string{id}, Types: []host.EventType{host.EventJobState}})
	if j, err := h.Get(ctx, id); err == nil && j.State == st {
		return
	}
	for ev := range events {
		if ev.State == st {
			return
		}
	}
	t.Fatalf("job %s never reached %s", id, st)
}

// Events another host of a shared queue relayed (Remote) are that host's
// to count: a host's metrics count its own, so that summing the hosts'
// series counts each job once.
func TestMetricsSkipOtherHostsEvents(t *testing.T) {
	m := newMetrics(nil, Sources{})
	now := time.Now()
	for _, ev := range []host.Event{
		{Type: host.EventJobState, Job: "j", Task: "chaos.noop", PrevState: host.StateCreated, State: host.StateQueued, Time: now, Remote: true},
		{Type: host.EventJobState, Job: "j", Task: "chaos.noop", PrevState: host.StateQueued, State: host.StateRunning, Time: now, Remote: true},
		{Type: host.EventJobState, Job: "j", Task: "chaos.noop", PrevState: host.StateRunning, State: host.StateCompleted, Time: now, Remote: true},
		{Type: host.EventLagged, Dropped: 5, Time: now, Remote: true},
	} {
		m.observe(&ev)
	}
	// The counters alone: the registry's host collector needs a host.
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.submitted, m.finished, m.attempts, m.eventsLost)
	gathered := func() map[string]*dto.MetricFamily {
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*dto.MetricFamily{}
		for _, f := range fams {
			out[f.GetName()] = f
		}
		return out
	}
	fams := gathered()
	for _, name := range []string{"batchhost_jobs_submitted_total", "batchhost_jobs_finished_total", "batchhost_attempt_duration_seconds"} {
		if f := fams[name]; f != nil && len(f.Metric) > 0 {
			t.Errorf("%s has %d series from another host's events, want none", name, len(f.Metric))
		}
	}
	if v, _ := value(fams, "batchhost_web_events_lost_total"); v != 0 {
		t.Errorf("events lost %v from another host's lag, want 0", v)
	}
	m.observe(&host.Event{Type: host.EventJobState, Job: "k", Task: "chaos.noop", PrevState: host.StateCreated, State: host.StateQueued, Time: now})
	if v, ok := value(gathered(), "batchhost_jobs_submitted_total", "task", "chaos.noop"); !ok || v != 1 {
		t.Errorf("this host's own submit counted %v times, want 1", v)
	}
}
