package main

import (
	"strings"
	"testing"
)

// The seed's group example through the CLI: a sequential group with
// cancel-on-failure, filled with created jobs, submitted at once, waited.
func TestGroupCommands(t *testing.T) {
	d := startDaemon(t, nil)
	gid := id(t, d.ok(t, "group", "create", "nightly", "--sequential", "--cancel-on-failure"))
	a := id(t, d.ok(t, "create", "chaos.sleep", "--args", `{"ms":20}`))
	b := id(t, d.ok(t, "create", "chaos.echo"))
	// A typo among the ids adds none of them.
	d.fails(t, 1, "nothing was added", "group", "add", gid, a, b, "nope")
	if g := jobJSON(t, d.ok(t, "--json", "group", "get", gid)); g["jobs"] != nil && len(g["jobs"].([]any)) != 0 {
		t.Fatalf("a refused add left members: %v", g["jobs"])
	}
	out := d.ok(t, "group", "add", gid, a, b)
	for _, want := range []string{"name               nightly", "sequential         yes", "cancel on failure  yes", "jobs               2 (2 created)", "members:", a, b} {
		if !strings.Contains(out, want) {
			t.Fatalf("group add output lacks %q:\n%s", want, out)
		}
	}
	d.ok(t, "group", "submit", gid)
	out = d.ok(t, "group", "wait", gid)
	if !strings.Contains(out, "outcome            completed") || !strings.Contains(out, "progress           100%") {
		t.Fatalf("group wait:\n%s", out)
	}
	g := jobJSON(t, d.ok(t, "--json", "group", "get", gid))
	for _, k := range strings.Fields("id name sequential cancel_on_failure counts progress done outcome jobs") {
		if _, ok := g[k]; !ok {
			t.Errorf("group JSON lacks %q: %v", k, g)
		}
	}
	if g["done"] != true || g["counts"].(map[string]any)["completed"] != float64(2) || len(g["jobs"].([]any)) != 2 {
		t.Fatalf("group: %v", g)
	}

	// A failing member: wait exits 1, and cancel-on-failure cancels the rest.
	g2 := id(t, d.ok(t, "group", "create", "bad", "--cancel-on-failure"))
	f := id(t, d.ok(t, "create", "chaos.fail", "--args", `{"times":9,"permanent":true}`, "--group", g2))
	s := id(t, d.ok(t, "create", "chaos.sleep", "--args", `{"ms":60000}`, "--group", g2))
	d.ok(t, "group", "submit", g2)
	r := d.cli(t, "", "group", "wait", g2)
	if r.code != 1 || !strings.Contains(r.stdout, "outcome            failed") {
		t.Fatalf("group wait of a failed group: %+v", r)
	}
	for jid, want := range map[string]string{f: "failed", s: "canceled"} {
		if j := jobJSON(t, d.ok(t, "--json", "get", jid)); j["state"] != want {
			t.Fatalf("member %s is %v, want %s", jid, j["state"], want)
		}
	}

	// Pause, resume and cancel reach every live member.
	g3 := id(t, d.ok(t, "group", "create", "steer"))
	m := id(t, d.ok(t, "submit", "chaos.sleep", "--args", `{"ms":60000}`, "--delay", "1h"))
	d.fails(t, 1, "", "group", "add", g3, m) // submitted jobs cannot join
	m = id(t, d.ok(t, "create", "chaos.sleep", "--args", `{"ms":60000}`, "--group", g3, "--delay", "1h"))
	d.ok(t, "group", "submit", g3)
	if out := d.ok(t, "group", "pause", g3); !strings.Contains(out, "1 paused") {
		t.Fatalf("group pause:\n%s", out)
	}
	if out := d.ok(t, "group", "resume", g3); !strings.Contains(out, "1 queued") {
		t.Fatalf("group resume:\n%s", out)
	}
	d.fails(t, 2, "timed out", "group", "wait", g3, "--timeout", "200ms")
	d.fails(t, 2, "group nope not found", "group", "wait", "nope")
	if out := d.ok(t, "group", "cancel", g3); !strings.Contains(out, "1 canceled") {
		t.Fatalf("group cancel:\n%s", out)
	}
	d.fails(t, 1, "has no created member", "group", "submit", g3)

	out = d.ok(t, "group", "list")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[1], g3) {
		t.Fatalf("group list:\n%s", out)
	}
	var groups []map[string]any
	decode(t, d.ok(t, "--json", "group", "list"), &groups)
	if len(groups) != 3 {
		t.Fatalf("group list --json: %v", groups)
	}
	d.fails(t, 1, "not found", "group", "get", "nope")
	d.fails(t, 2, "needs a subcommand", "group")
	d.fails(t, 2, `unknown command "frob" for "batchhost group"`, "group", "frob")
}
