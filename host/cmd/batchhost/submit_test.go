package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSubmitPrintsTheIDAndJSONTheJob(t *testing.T) {
	d := startDaemon(t, nil)
	jid := id(t, d.ok(t, "submit", "chaos.echo", "--args", `{"x":1}`))
	d.ok(t, "wait", jid)
	if out := d.ok(t, "result", jid); out != `{"x":1}`+"\n" {
		t.Fatalf("result %q", out)
	}
	out := d.ok(t, "--json", "submit", "chaos.echo", "--priority", "high", "--args", `{"y":2}`)
	j := jobJSON(t, out)
	if j["task"] != "chaos.echo" || j["priority"] != "high" || j["max_attempts"] != float64(3) || !idPattern.MatchString(j["id"].(string)) {
		t.Fatalf("submit --json: %v", j)
	}
	if args, _ := j["args"].(map[string]any); args["y"] != float64(2) {
		t.Fatalf("args %v", j["args"])
	}
	switch j["state"] {
	case "queued", "running", "completed":
	default:
		t.Fatalf("state %v", j["state"])
	}
}

// Every job flag reaches the job; the job JSON shows them under the
// contract's field names.
func TestSubmitFlagsReachTheJob(t *testing.T) {
	d := startDaemon(t, nil)
	dep := id(t, d.ok(t, "submit", "chaos.noop"))
	d.ok(t, "wait", dep)
	gid := id(t, d.ok(t, "group", "create", "g"))
	out := d.ok(t, "--json", "create", "chaos.sleep", "--args", `{"ms":1}`, "--priority", "critical", "--after", dep,
		"--group", gid, "--max-attempts", "7", "--timeout", "1m", "--stall-timeout", "30s", "--delay", "1h", "--key", "k1", "--label", "team=docs")
	j := jobJSON(t, out)
	deps, _ := j["depends_on"].([]any)
	labels, _ := j["labels"].(map[string]any)
	if j["state"] != "created" || j["priority"] != "critical" || j["group"] != gid || j["max_attempts"] != float64(7) ||
		j["timeout"] != "1m0s" || j["key"] != "k1" || labels["team"] != "docs" || j["run_at"] == nil ||
		len(deps) != 1 || deps[0].(map[string]any)["id"] != dep {
		t.Fatalf("created job: %s", out)
	}
	// The same key returns the same job instead of a second one.
	again := id(t, d.ok(t, "create", "chaos.sleep", "--key", "k1"))
	if again != j["id"] {
		t.Fatalf("key k1 gave %s, then %s", j["id"], again)
	}
}

func TestSubmitWaitExitCodes(t *testing.T) {
	d := startDaemon(t, nil)
	out := d.ok(t, "submit", "--wait", "chaos.noop")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || lines[1] != id(t, lines[0])+" completed" {
		t.Fatalf("submit --wait printed %q", out)
	}
	r := d.cli(t, "", "submit", "--wait", "chaos.fail", "--args", `{"times":9,"permanent":true}`)
	if r.code != 1 || !strings.Contains(r.stdout, " failed: permanent: ") || r.stderr != "" {
		t.Fatalf("submit --wait of a failing job: %+v", r)
	}
	r = d.cli(t, "", "--json", "submit", "--wait", "chaos.noop")
	var jobs []map[string]any
	decode(t, r.stdout, &jobs)
	if r.code != 0 || len(jobs) != 1 || jobs[0]["state"] != "completed" {
		t.Fatalf("--json submit --wait: %+v", r)
	}
}

// TestSubmitRefusalsNameTheProblem: through the real daemon and plugin
// binaries, a relative path is refused naming it (the plugin runs in the
// daemon's directory, not the submitter's), and args that do not fit the
// task's fields say which field and what it expected.
func TestSubmitRefusalsNameTheProblem(t *testing.T) {
	d := startDaemon(t, nil)
	for _, tc := range []struct{ task, args, kind, want string }{
		{"exec.run", `{"argv":["true"],"dir":"sub"}`, "invalid_args", `dir "sub" is relative; give an absolute path`},
		{"exec.run", `{"argv":"true"}`, "invalid_args", `invalid args: field "argv": expected an array of strings, got a string`},
		{"chaos.sleep", `{"ms":"10"}`, "invalid_args", `invalid args: field "ms": expected an integer, got a string`},
	} {
		r := d.cli(t, "", "--json", "submit", tc.task, "--args", tc.args, "--wait")
		var jobs []map[string]any
		decode(t, r.stdout, &jobs)
		e, _ := jobs[0]["error"].(map[string]any)
		if r.code != 1 || e["kind"] != tc.kind || !strings.Contains(e["message"].(string), tc.want) {
			t.Errorf("submit %s --args %s: exit %d, error %v; want %s %q", tc.task, tc.args, r.code, e, tc.kind, tc.want)
		}
	}
}

// TestSubmitArgsFile: --args-file reads the args from a file, so a path
// needs no shell quoting; it cannot be combined with --args.
func TestSubmitArgsFile(t *testing.T) {
	d := startDaemon(t, nil)
	file := filepath.Join(t.TempDir(), "args.json")
	if err := os.WriteFile(file, []byte("{\"path\": \"/tmp/it's \\\"quoted\\\"\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	jid := id(t, d.ok(t, "submit", "chaos.echo", "--args-file", file))
	d.ok(t, "wait", jid)
	if out := d.ok(t, "result", jid); out != `{"path":"/tmp/it's \"quoted\""}`+"\n" {
		t.Fatalf("result %q", out)
	}
	d.fails(t, 2, "give --args or --args-file, not both", "submit", "chaos.echo", "--args-file", file, "--args", "{}")
	d.fails(t, 2, "--args-file: open /nonexistent.json: no such file or directory", "create", "chaos.echo", "--args-file", "/nonexistent.json")
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"a":`), 0o600); err != nil {
		t.Fatal(err)
	}
	d.fails(t, 2, "invalid --args-file "+bad+": unexpected end of JSON input", "submit", "chaos.echo", "--args-file", bad)
}
