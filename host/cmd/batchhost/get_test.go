package main

import (
	"slices"
	"strings"
	"testing"
)

// The job JSON carries every field of the contract, under its name.
func TestGetJSONHasTheContractFields(t *testing.T) {
	d := startDaemon(t, nil)
	dep := id(t, d.ok(t, "submit", "chaos.noop"))
	d.ok(t, "wait", dep)
	gid := id(t, d.ok(t, "group", "create", "g"))
	failed := id(t, d.ok(t, "create", "chaos.fail", "--args", `{"times":9}`, "--max-attempts", "2", "--after", dep, "--group", gid, "--key", "k", "--delay", "1ms"))
	d.ok(t, "group", "submit", gid)
	d.cli(t, "", "wait", failed)
	done := id(t, d.ok(t, "submit", "chaos.echo", "--args", `{"a":1}`))
	d.ok(t, "wait", done)
	later := id(t, d.ok(t, "submit", "chaos.noop", "--delay", "1h"))

	seen := map[string]bool{}
	for _, jid := range []string{failed, done, later} {
		j := jobJSON(t, d.ok(t, "--json", "get", jid))
		for k := range j {
			seen[k] = true
		}
		if e, ok := j["error"].(map[string]any); ok {
			for _, k := range []string{"kind", "message", "retryable"} {
				if _, ok := e[k]; !ok {
					t.Errorf("error lacks %q: %v", k, e)
				}
			}
		}
		if p, ok := j["progress"].(map[string]any); !ok || p["fraction"] == nil {
			t.Errorf("progress %v", j["progress"])
		}
		attempts, _ := j["attempts"].([]any)
		for _, a := range attempts {
			for _, k := range []string{"attempt", "started_at", "finished_at"} {
				if _, ok := a.(map[string]any)[k]; !ok {
					t.Errorf("attempt lacks %q: %v", k, a)
				}
			}
		}
	}
	for _, k := range strings.Fields("id task state priority args result error attempt max_attempts group depends_on key progress created_at queued_at started_at finished_at run_at attempts") {
		if !seen[k] {
			t.Errorf("no job shows %q; fields seen: %v", k, keys(seen))
		}
	}
	f := jobJSON(t, d.ok(t, "--json", "get", failed))
	if f["state"] != "failed" || len(f["attempts"].([]any)) != 2 || f["error"].(map[string]any)["kind"] != "task_error" {
		t.Fatalf("failed job: %v", f)
	}
}

func TestGetHuman(t *testing.T) {
	d := startDaemon(t, nil)
	jid := id(t, d.ok(t, "submit", "chaos.fail", "--args", `{"times":1}`, "--label", "team=docs"))
	d.ok(t, "wait", jid)
	out := d.ok(t, "get", jid)
	for _, want := range []string{"id        " + jid, "state     completed", "attempt   2 of 3", "label     team=docs", "result    ", "attempts:", "task_error: chaos: planned failure on attempt 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("get lacks %q:\n%s", want, out)
		}
	}
	d.fails(t, 1, "job nope not found", "get", "nope")
	d.fails(t, 2, "accepts 1 arg(s), received 0", "get")
}

func TestListFiltersAndPages(t *testing.T) {
	d := startDaemon(t, nil)
	a := id(t, d.ok(t, "submit", "chaos.noop"))
	b := id(t, d.ok(t, "submit", "chaos.echo"))
	c := id(t, d.ok(t, "create", "chaos.noop"))
	d.ok(t, "wait", a, b)
	out := d.ok(t, "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID ") || !strings.HasPrefix(lines[1], c) {
		t.Fatalf("list (newest first, header):\n%s", out)
	}
	var jobs []map[string]any
	decode(t, d.ok(t, "--json", "list", "--state", "completed", "--task", "chaos.noop"), &jobs)
	if len(jobs) != 1 || jobs[0]["id"] != a {
		t.Fatalf("filtered list: %v", jobs)
	}
	decode(t, d.ok(t, "--json", "list", "--state", "created,failed"), &jobs)
	if len(jobs) != 1 || jobs[0]["id"] != c {
		t.Fatalf("created,failed: %v", jobs)
	}
	r := d.cli(t, "", "list", "--limit", "1")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 2 || !strings.HasPrefix(r.stderr, "more: batchhost list --before ") {
		t.Fatalf("paged list: %+v", r)
	}
	// A script reading JSON learns of the next page too, on stderr.
	r = d.cli(t, "", "--json", "list", "--limit", "1")
	if r.code != 0 || !strings.HasPrefix(r.stderr, "more: batchhost list --before ") {
		t.Fatalf("paged JSON list: %+v", r)
	}
	decode(t, r.stdout, &jobs)
	if len(jobs) != 1 {
		t.Fatalf("paged JSON list: %v", jobs)
	}
	decode(t, d.ok(t, "--json", "list", "--task", "chaos.none"), &jobs)
	if jobs == nil || len(jobs) != 0 {
		t.Fatalf("empty list must be [] in JSON: %v", jobs)
	}
	// Priority, label and search filters reach the host over the socket.
	e := id(t, d.ok(t, "create", "chaos.sleep", "--priority", "high", "--label", "team=docs"))
	for _, args := range [][]string{{"--priority", "high"}, {"--priority", "critical,high"}, {"--label", "team=docs"}, {"--label", "team"}, {"--search", "SLEEP"}} {
		decode(t, d.ok(t, append([]string{"--json", "list"}, args...)...), &jobs)
		if len(jobs) != 1 || jobs[0]["id"] != e {
			t.Errorf("list %v: %v, want only %s", args, jobs, e)
		}
	}
	decode(t, d.ok(t, "--json", "list", "--label", "team=ops"), &jobs)
	if len(jobs) != 0 {
		t.Errorf("list --label team=ops: %v", jobs)
	}
	d.fails(t, 2, `invalid --state: unknown state "done"`, "list", "--state", "done")
	d.fails(t, 2, "invalid --limit -1", "list", "--limit", "-1")
	d.fails(t, 2, "invalid --priority", "list", "--priority", "urgent")
}

func TestResult(t *testing.T) {
	d := startDaemon(t, nil)
	jid := id(t, d.ok(t, "submit", "chaos.echo", "--args", `{"a": [1, 2]}`))
	d.ok(t, "wait", jid)
	if out := d.ok(t, "result", jid); out != `{"a":[1,2]}`+"\n" {
		t.Fatalf("result %q", out)
	}
	if out := d.ok(t, "--json", "result", jid); !strings.Contains(out, "\n  \"a\": [") {
		t.Fatalf("result --json %q", out)
	}
	failed := id(t, d.ok(t, "submit", "chaos.fail", "--args", `{"times":9,"permanent":true}`))
	d.cli(t, "", "wait", failed)
	d.fails(t, 1, "job "+failed+" is failed (permanent: ", "result", failed)
	d.fails(t, 1, "not found", "result", "nope")
}

func TestLogs(t *testing.T) {
	d := startDaemon(t, nil)
	jid := id(t, d.ok(t, "submit", "chaos.log", "--args", `{"lines":3,"level":"warn"}`))
	d.ok(t, "wait", jid)
	out := d.ok(t, "logs", jid)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], " #1 WARN  line 1 i=1") {
		t.Fatalf("logs:\n%s", out)
	}
	out = d.ok(t, "--json", "logs", jid)
	if n := strings.Count(out, "\n"); n != 3 || !strings.HasPrefix(out, `{"time":`) || !strings.Contains(out, `"fields":{"i":3}`) {
		t.Fatalf("logs --json:\n%s", out)
	}
	// --follow on a running job prints every record once and returns when
	// the job ends.
	run := id(t, d.ok(t, "submit", "chaos.progress", "--args", `{"steps":20,"ms":25}`))
	d.waitFor(t, run, "running")
	out = d.ok(t, "logs", "--follow", run)
	var is []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		is = append(is, l[strings.LastIndex(l, "i=")+2:])
	}
	slices.Sort(is)
	if uniq := slices.Compact(slices.Clone(is)); len(is) != 20 || len(uniq) != 20 {
		t.Fatalf("follow printed %d records (%v):\n%s", len(is), is, out)
	}
	if j, _ := d.h.Get(ctxT(t), run); j.State != "completed" {
		t.Fatalf("logs --follow returned while the job is %s", j.State)
	}
	d.fails(t, 1, "not found", "logs", "nope")
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
