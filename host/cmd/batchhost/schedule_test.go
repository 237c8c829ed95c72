package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/hosttest"
)

// scheduleDaemon is a daemon whose clock the test steps, so that fire
// times are known to the second and firings happen when the test says.
func scheduleDaemon(t *testing.T) (*daemon, *hosttest.Clock) {
	t.Helper()
	if _, err := time.LoadLocation("Europe/Berlin"); err != nil {
		t.Skip("no tz database:", err)
	}
	clk := hosttest.NewClock(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	return startDaemon(t, func(c *host.Config) { c.Clock = clk }), clk
}

// Every schedule subcommand, human and --json, by name and by id.
func TestScheduleCommands(t *testing.T) {
	d, clk := scheduleDaemon(t)
	gid := id(t, d.ok(t, "group", "create", "maintenance"))
	nightly := id(t, d.ok(t, "schedule", "add", "nightly", "--cron", "0 3 * * *", "--tz", "Europe/Berlin", "chaos.echo",
		"--args", `{"n":1}`, "--priority", "high", "--max-attempts", "2", "--timeout", "1m", "--group", gid,
		"--label", "team=docs", "--overlap", "queue", "--missed", "none", "--jitter", "5m", "--cpu", "0.5", "--memory-mb", "64"))

	// add --json prints the schedule.
	tick := scheduleJSON(t, d.ok(t, "--json", "schedule", "add", "tick", "--cron", "@every 1m", "chaos.sleep", "--args", `{"ms":60000}`, "--paused"))
	if !idPattern.MatchString(tick.ID) || tick.Name != "tick" || tick.Cron != "@every 1m" || !tick.Paused || len(tick.Next) != 0 ||
		tick.Overlap != host.OverlapSkip || tick.Missed != host.MissedSkip || tick.Task != "chaos.sleep" {
		t.Fatalf("add --json: %+v", tick)
	}

	// get: every setting, then the next 5 fire times in the schedule's zone.
	out := d.ok(t, "schedule", "get", "nightly")
	for _, want := range []string{
		"id         " + nightly + "\n", "name       nightly\n", "cron       0 3 * * *\n", "time zone  Europe/Berlin\n",
		"task       chaos.echo\n", `args       {"n":1}` + "\n", "priority   high\n", "group      " + gid + "\n",
		"label      team=docs\n", "attempts   2\n", "timeout    1m0s\n", "resources  cpu=0.5,memory_mb=64\n", "overlap    queue\n", "missed     none\n", "jitter     5m0s\n", "paused     no\n",
		"last fire  -\n", "last job   -\n",
		"\nnext fire times:\n  2026-06-02 03:00:00 CEST (",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("schedule get lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, ":00:00 CEST ("); n != 5 || !strings.Contains(out, "  2026-06-06 03:00:00 CEST (") {
		t.Fatalf("want the next 5 fire times, got %d:\n%s", n, out)
	}
	s := scheduleJSON(t, d.ok(t, "--json", "schedule", "get", nightly))
	if s.Name != "nightly" || s.Priority != host.PriorityHigh || s.Group != gid || len(s.Next) != 5 ||
		s.Next[0].Format(time.RFC3339) != "2026-06-02T03:00:00+02:00" {
		t.Fatalf("get --json: %+v", s)
	}
	if out := d.ok(t, "schedule", "get", tick.ID); !strings.Contains(out, "next fire times: none (paused)") || !strings.Contains(out, "time zone  local") ||
		!strings.Contains(out, "resources  task default\n") {
		t.Fatalf("get of a paused schedule:\n%s", out)
	}

	// list: one row each, by name, aligned.
	out = d.ok(t, "schedule", "list")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME     CRON       TZ             NEXT FIRE ") ||
		!strings.HasPrefix(lines[1], "nightly  0 3 * * *  Europe/Berlin  2026-06-02 03:00:00 CEST (") || !strings.HasSuffix(lines[1], "  -               no") ||
		!strings.HasPrefix(lines[2], "tick     @every 1m  local          -  ") || !strings.HasSuffix(lines[2], "yes") {
		t.Fatalf("schedule list:\n%s", out)
	}
	var list []host.Schedule
	decode(t, d.ok(t, "--json", "schedule", "list"), &list)
	if len(list) != 2 || list[0].ID != nightly || list[1].ID != tick.ID {
		t.Fatalf("list --json: %+v", list)
	}

	// trigger fires a paused schedule too, at once (no jitter); the job
	// knows its schedule.
	jid := id(t, d.ok(t, "schedule", "trigger", "tick"))
	j := jobJSON(t, d.ok(t, "--json", "get", jid))
	if j["schedule"] != tick.ID || j["task"] != "chaos.sleep" {
		t.Fatalf("triggered job: %v", j)
	}
	j = jobJSON(t, d.ok(t, "--json", "schedule", "trigger", "nightly"))
	if r, _ := j["resources"].(map[string]any); j["schedule"] != nightly || j["group"] != gid || j["priority"] != "high" || j["max_attempts"] != float64(2) || j["run_at"] != nil ||
		r["cpu"] != 0.5 || r["memory_mb"] != float64(64) {
		t.Fatalf("trigger --json: %v", j)
	}
	// A running run is canceled once its plugin lets go: wait, so that the
	// firing below is not skipped for overlap.
	d.ok(t, "cancel", jid)
	d.waitFor(t, jid, host.StateCanceled)
	d.waitFor(t, j["id"].(string), host.StateCompleted)

	// resume and pause print the schedule.
	events := d.h.Subscribe(ctxT(t), host.EventFilter{Types: []host.EventType{host.EventSchedule}})
	if out := d.ok(t, "schedule", "resume", "tick"); !strings.Contains(out, "paused     no") || !strings.Contains(out, "  2026-06-01 12:01:00 UTC (") {
		t.Fatalf("schedule resume:\n%s", out)
	}
	clk.Advance(time.Minute)
	var fired host.Event
	for e := range events {
		if e.Schedule == tick.ID {
			fired = e
			break
		}
	}
	if fired.Job == "" {
		t.Fatalf("the firing made no job: %+v", fired)
	}
	out = d.ok(t, "schedule", "get", "tick")
	if !strings.Contains(out, "last fire  2026-06-01 12:01:00 UTC (") || !strings.Contains(out, "last job   "+fired.Job+" (") {
		t.Fatalf("after a firing:\n%s", out)
	}
	if out := d.ok(t, "schedule", "list"); !strings.Contains(out, "2026-06-01 12:02:00 UTC (") || !strings.Contains(out, "2026-06-01 12:01:00 UTC (") {
		t.Fatalf("list after a firing:\n%s", out)
	}
	s = scheduleJSON(t, d.ok(t, "--json", "schedule", "pause", tick.ID))
	if !s.Paused || s.LastJob != fired.Job || s.LastFire == nil || len(s.Next) != 0 {
		t.Fatalf("pause --json: %+v", s)
	}
	d.fails(t, 1, `schedule "tick" is already paused`, "schedule", "pause", "tick")
	s = scheduleJSON(t, d.ok(t, "--json", "schedule", "resume", "tick"))
	if s.Paused || len(s.Next) != 5 {
		t.Fatalf("resume --json: %+v", s)
	}
	d.fails(t, 1, `schedule "tick" is not paused`, "schedule", "resume", "tick")
	if out := d.ok(t, "schedule", "pause", "tick"); !strings.Contains(out, "paused     yes") {
		t.Fatalf("schedule pause:\n%s", out)
	}

	// rm: by name, then by id with --json; the runs stay.
	if out := d.ok(t, "schedule", "rm", "tick"); out != "removed schedule tick ("+tick.ID+")\n" {
		t.Fatalf("schedule rm: %q", out)
	}
	s = scheduleJSON(t, d.ok(t, "--json", "schedule", "rm", nightly))
	if s.ID != nightly {
		t.Fatalf("rm --json: %+v", s)
	}
	if out := d.ok(t, "schedule", "list"); strings.Count(out, "\n") != 1 {
		t.Fatalf("list after rm:\n%s", out)
	}
	if out := d.ok(t, "--json", "schedule", "list"); out != "[]\n" {
		t.Fatalf("list --json after rm: %q", out)
	}
	d.fails(t, 1, "schedule tick not found", "schedule", "get", "tick")
	if j := jobJSON(t, d.ok(t, "--json", "get", fired.Job)); j["schedule"] != tick.ID {
		t.Fatalf("a run of a removed schedule: %v", j)
	}
	d.ok(t, "cancel", fired.Job)
}

// scheduleJSON decodes one schedule object, refusing unknown fields.
func scheduleJSON(t *testing.T, out string) host.Schedule {
	t.Helper()
	var s host.Schedule
	decode(t, out, &s)
	return s
}

// Bad input: one line naming the problem, the contract's exit code (2 for
// the command line, 1 for what the host refuses), nothing on stdout, and
// nothing written.
func TestScheduleBadInput(t *testing.T) {
	d, _ := scheduleDaemon(t)
	dup := id(t, d.ok(t, "schedule", "add", "dup", "--cron", "@hourly", "chaos.noop"))
	add := func(args ...string) []string {
		return append([]string{"schedule", "add", "s"}, args...)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad minute", add("--cron", "61 * * * *", "chaos.noop"), 2, `schedule spec "61 * * * *": minute field "61": `},
		{"bad day of week", add("--cron", "0 3 * * funday", "chaos.noop"), 2, `day-of-week field "funday"`},
		{"bad second", add("--cron", "75 0 3 * * *", "chaos.noop"), 2, `second field "75"`},
		{"field count", add("--cron", "* * *", "chaos.noop"), 2, "want 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got 3"},
		{"unknown descriptor", add("--cron", "@fortnightly", "chaos.noop"), 2, `schedule spec "@fortnightly"`},
		{"every below 1s", add("--cron", "@every 500ms", "chaos.noop"), 2, "@every 500ms is below the minimum of 1s"},
		{"every not a duration", add("--cron", "@every often", "chaos.noop"), 2, `@every "often": not a duration`},
		{"unknown time zone", add("--cron", "@daily", "--tz", "Mars/Olympus", "chaos.noop"), 2, `unknown time zone "Mars/Olympus" (want an IANA name such as Europe/Berlin)`},
		{"unknown task", add("--cron", "@daily", "chaos.nothing"), 1, `unknown task "chaos.nothing" ("batchhost tasks" lists`},
		{"unknown group", add("--cron", "@daily", "chaos.noop", "--group", "nope"), 1, "group nope not found"},
		{"duplicate name", []string{"schedule", "add", "dup", "--cron", "@daily", "chaos.noop"}, 1, `a schedule named "dup" already exists (` + dup + `)`},
		{"bad overlap", add("--cron", "@daily", "chaos.noop", "--overlap", "sometimes"), 2, `unknown overlap policy "sometimes" (want skip, allow or queue)`},
		{"bad missed", add("--cron", "@daily", "chaos.noop", "--missed", "all"), 2, `unknown missed-run policy "all" (want skip or none)`},
		{"bad jitter", add("--cron", "@daily", "chaos.noop", "--jitter", "soon"), 2, `invalid argument "soon" for "--jitter" flag`},
		{"negative jitter", add("--cron", "@daily", "chaos.noop", "--jitter", "-1s"), 1, "jitter -1s must be between 0 and 24h"},
		{"huge jitter", add("--cron", "@daily", "chaos.noop", "--jitter", "48h"), 1, "jitter 48h0m0s must be between 0 and 24h"},
		{"no cron", add("chaos.noop"), 2, "--cron is required"},
		{"blank cron", add("--cron", " ", "chaos.noop"), 2, "--cron is required"},
		{"no task", []string{"schedule", "add", "s", "--cron", "@daily"}, 2, `schedule add needs a schedule NAME and a TASK (see "batchhost tasks")`},
		{"after", add("--cron", "@daily", "chaos.noop", "--after", dup), 2, "--after cannot be used with a schedule"},
		{"key", add("--cron", "@daily", "chaos.noop", "--key", "k"), 2, "--key cannot be used with a schedule"},
		{"delay", add("--cron", "@daily", "chaos.noop", "--delay", "1h"), 2, "--delay cannot be used with a schedule"},
		{"wait", add("--cron", "@daily", "chaos.noop", "--wait"), 2, "--wait cannot be used with a schedule"},
		{"bad args", add("--cron", "@daily", "chaos.echo", "--args", `{"a":}`), 2, "invalid --args: "},
		{"bad priority", add("--cron", "@daily", "chaos.noop", "--priority", "urgent"), 2, `invalid priority "urgent"`},
		{"bad timeout", add("--cron", "@daily", "chaos.noop", "--timeout", "-1s"), 1, "timeout must not be negative"},
		{"need beyond capacity", add("--cron", "@daily", "chaos.noop", "--memory-mb", "1073741824"), 1,
			"resources: chaos.noop needs memory_mb 1073741824 but this host's capacity is memory_mb "},
		{"negative cpu", add("--cron", "@daily", "chaos.noop", "--cpu", "-1"), 1, "cpu must be a number of CPUs, 0 or more (got -1)"},
		{"bad cpu", add("--cron", "@daily", "chaos.noop", "--cpu", "x"), 2, `invalid argument "x" for "--cpu" flag`},
		{"get unknown", []string{"schedule", "get", "nope"}, 1, "schedule nope not found"},
		{"pause unknown", []string{"schedule", "pause", "nope"}, 1, "schedule nope not found"},
		{"resume unknown", []string{"schedule", "resume", "nope"}, 1, "schedule nope not found"},
		{"rm unknown", []string{"schedule", "rm", "0190aaaa-0000-7000-8000-000000000000"}, 1, "schedule 0190aaaa-0000-7000-8000-000000000000 not found"},
		{"trigger unknown", []string{"schedule", "trigger", "nope"}, 1, "schedule nope not found"},
		{"get without name", []string{"schedule", "get"}, 2, "accepts 1 arg(s), received 0"},
		{"no subcommand", []string{"schedule"}, 2, "needs a subcommand"},
		{"unknown subcommand", []string{"schedule", "frob"}, 2, `unknown command "frob" for "batchhost schedule"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, args := range [][]string{tc.args, append([]string{"--json"}, tc.args...)} {
				r := d.cli(t, "", args...)
				expectFail(t, r, tc.code, tc.want, args)
				if r.stdout != "" {
					t.Fatalf("stdout %q", r.stdout)
				}
			}
		})
	}
	var list []host.Schedule
	decode(t, d.ok(t, "--json", "schedule", "list"), &list)
	if len(list) != 1 || list[0].ID != dup || list[0].LastJob != "" {
		t.Fatalf("bad input wrote something: %+v", list)
	}
	if jobs := d.ok(t, "list"); strings.Count(jobs, "\n") != 1 {
		t.Fatalf("bad input made jobs:\n%s", jobs)
	}
}

// A schedule that next fires centuries away shows so, not a wrapped
// negative duration.
func TestScheduleFarFuture(t *testing.T) {
	d := startDaemon(t, nil)
	d.ok(t, "schedule", "add", "s1", "--cron", "@every 2562047h", "chaos.noop")
	out := d.ok(t, "schedule", "get", "s1")
	if !strings.Contains(out, "(in over 100 years)") || strings.Contains(out, "-2562047h") {
		t.Fatalf("schedule get:\n%s", out)
	}
	if out := d.ok(t, "schedule", "list"); !strings.Contains(out, "(in over 100 years)") {
		t.Fatalf("schedule list:\n%s", out)
	}
}

func TestScheduleWithoutDaemon(t *testing.T) {
	sock := filepath.Join(shortDir(t), "bh.sock")
	r := runCLI(t, map[string]string{"BATCHHOST_SOCKET": sock}, "", "schedule", "list")
	expectFail(t, r, 2, "no host is running at "+sock, nil)
}
