package main

import (
	"encoding/json"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

func TestTasks(t *testing.T) {
	d := startDaemon(t, nil)
	out := d.ok(t, "tasks")
	if !strings.HasPrefix(out, "TASK ") || !strings.Contains(out, "chaos.noop      chaos   ") || !strings.Contains(out, "Does nothing and returns {}") {
		t.Fatalf("tasks:\n%s", out)
	}
	var tasks []struct{ Task, Plugin, Version, Description string }
	decode(t, d.ok(t, "--json", "tasks"), &tasks)
	if len(tasks) < 10 || tasks[0].Plugin != "chaos" || tasks[0].Version == "" {
		t.Fatalf("tasks --json: %+v", tasks)
	}
}

func TestStatsAndDispatch(t *testing.T) {
	d := startDaemon(t, nil)
	if out := d.ok(t, "dispatch", "pause"); !strings.HasPrefix(out, "dispatch paused") {
		t.Fatalf("dispatch pause: %q", out)
	}
	jid := id(t, d.ok(t, "submit", "chaos.noop", "--priority", "high"))
	out := d.ok(t, "stats")
	for _, want := range []string{"queued 1", "high 1", "0 of 4 busy", "paused (batchhost dispatch resume)", "throttled  none"} {
		if !strings.Contains(out, want) {
			t.Fatalf("stats lacks %q:\n%s", want, out)
		}
	}
	var s struct {
		Counts         map[string]int `json:"counts"`
		QueueDepth     map[string]int `json:"queue_depth"`
		BusyWorkers    int            `json:"busy_workers"`
		MaxWorkers     int            `json:"max_workers"`
		DispatchPaused bool           `json:"dispatch_paused"`
		Throttled      []any          `json:"throttled"`
		Capacity       struct {
			CPU      float64 `json:"cpu"`
			MemoryMB int     `json:"memory_mb"`
		} `json:"capacity"`
		CapacityInUse  map[string]float64 `json:"capacity_in_use"`
		MemoryPressure bool               `json:"memory_pressure"`
		DamagedJobs    *int               `json:"damaged_jobs"`
	}
	decode(t, d.ok(t, "--json", "stats"), &s)
	if s.Counts["queued"] != 1 || s.QueueDepth["high"] != 1 || s.MaxWorkers != 4 || !s.DispatchPaused || s.Throttled == nil || len(s.Throttled) != 0 ||
		s.Capacity.CPU != float64(runtime.NumCPU()) || s.Capacity.MemoryMB <= 0 || len(s.CapacityInUse) != 0 || s.MemoryPressure ||
		s.DamagedJobs == nil || *s.DamagedJobs != 0 {
		t.Fatalf("stats --json: %+v", s)
	}
	var st map[string]bool
	decode(t, d.ok(t, "--json", "dispatch", "resume"), &st)
	if st["dispatch_paused"] {
		t.Fatalf("dispatch resume --json: %v", st)
	}
	d.ok(t, "wait", jid)
	d.fails(t, 2, "needs a subcommand", "dispatch")
	d.fails(t, 2, `unknown command "stop"`, "dispatch", "stop")
}

func TestStatsShowsThrottledNames(t *testing.T) {
	d := startDaemon(t, func(c *host.Config) { c.Rates = map[string]host.Rate{"chaos.noop": {N: 1, Per: time.Hour}} })
	first := id(t, d.ok(t, "submit", "chaos.noop"))
	d.ok(t, "wait", first)
	second := id(t, d.ok(t, "submit", "chaos.noop"))
	out := d.ok(t, "stats")
	if !regexp.MustCompile(`(?m)^throttled  chaos\.noop \(next in 59m5\d(\.\d+)?s\)$`).MatchString(out) {
		t.Fatalf("stats does not show chaos.noop throttled for about an hour:\n%s", out)
	}
	var s struct {
		Counts    map[string]int `json:"counts"`
		Throttled []struct {
			Name string    `json:"name"`
			Next time.Time `json:"next"`
		} `json:"throttled"`
	}
	out = d.ok(t, "--json", "stats")
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Throttled) != 1 || s.Throttled[0].Name != "chaos.noop" || time.Until(s.Throttled[0].Next) < 59*time.Minute || s.Counts["queued"] != 1 {
		t.Fatalf("stats --json: %s", out)
	}
	if j := jobJSON(t, d.ok(t, "--json", "get", second)); j["state"] != "queued" {
		t.Fatalf("job over the rate is %v", j["state"])
	}
}

func TestVersion(t *testing.T) {
	r := runCLI(t, nil, "", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "batchhost ") {
		t.Fatalf("version: %+v", r)
	}
	r = runCLI(t, nil, "", "--json", "version")
	var v map[string]string
	decode(t, r.stdout, &v)
	if v["version"] == "" || !strings.HasPrefix(v["go"], "go") {
		t.Fatalf("version --json: %v", v)
	}
}

func TestBench(t *testing.T) {
	r := runCLI(t, map[string]string{"BATCHHOST_PLUGIN_DIR": pluginDir}, "", "bench", "--jobs", "200", "--rounds", "1", "--samples", "5", "--no-sync")
	if r.code != 0 {
		t.Fatalf("bench: %+v", r)
	}
	for _, want := range []string{"chaos.noop, 8 workers, fsync OFF", "submit, 1 caller (200 jobs)", "submit many (200 jobs a call)", "end to end (200 jobs)", "runner ceiling (200 attempts)", " attempts/s; end to end is ", "enqueue-to-start latency (5 jobs, idle)  p50 "} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("bench output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runCLI(t, nil, "", "--json", "bench", "--plugin-dir", pluginDir, "--jobs", "50", "--rounds", "1", "--samples", "3", "--workers", "2")
	var b benchResult
	decode(t, r.stdout, &b)
	if r.code != 0 || !b.Sync || b.EndToEnd <= 0 || b.RunnerCeiling <= 0 || b.SubmitMany <= 0 || b.SubmitOne <= 0 || b.SubmitParallel <= 0 || b.LatencyP50 <= 0 || b.LatencyP99 < b.LatencyP50 {
		t.Fatalf("bench --json: %+v %+v", r, b)
	}
	expectFail(t, runCLI(t, nil, "", "bench", "--plugin-dir", pluginDir, "--task", "chaos.nothing"), 1, "no plugin in "+pluginDir+" offers task chaos.nothing", nil)
	// Bounds are checked before anything runs: a huge bench is refused, not
	// attempted (and never panics allocating for it).
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--jobs", "0"}, "invalid --jobs 0: between 1 and 1000000"},
		{[]string{"--jobs", "1000001"}, "invalid --jobs 1000001: between 1 and 1000000"},
		{[]string{"--samples", "0"}, "invalid --samples 0: between 1 and 100000"},
		{[]string{"--jobs", "1", "--rounds", "1", "--workers", "1", "--samples", "9223372036854775807"}, "invalid --samples 9223372036854775807: between 1 and 100000"},
		{[]string{"--rounds", "0"}, "invalid --rounds 0: between 1 and 100"},
		{[]string{"--rounds", "101"}, "invalid --rounds 101: between 1 and 100"},
		{[]string{"--workers", "0"}, "invalid --workers 0: between 1 and 4096"},
		{[]string{"--workers", "4097"}, "invalid --workers 4097: between 1 and 4096"},
	} {
		args := append([]string{"bench", "--plugin-dir", pluginDir}, tc.args...)
		expectFail(t, runCLI(t, nil, "", args...), 2, tc.want, args)
	}
}
