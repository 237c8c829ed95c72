package main

import (
	"strings"
	"testing"
)

func TestCreateEnqueue(t *testing.T) {
	d := startDaemon(t, nil)
	a := id(t, d.ok(t, "create", "chaos.noop"))
	b := id(t, d.ok(t, "create", "chaos.noop", "--after", a))
	if j := jobJSON(t, d.ok(t, "--json", "get", a)); j["state"] != "created" {
		t.Fatalf("created job is %v", j["state"])
	}
	out := d.ok(t, "enqueue", a, b)
	if !strings.Contains(out, a+"  ") || !strings.Contains(out, b+"  ") {
		t.Fatalf("enqueue printed %q", out)
	}
	d.ok(t, "wait", a, b)
	// Enqueue is all or nothing: a finished job in the list refuses it all.
	c := id(t, d.ok(t, "create", "chaos.noop"))
	d.fails(t, 1, "not created", "enqueue", c, a)
	if j := jobJSON(t, d.ok(t, "--json", "get", c)); j["state"] != "created" {
		t.Fatalf("refused enqueue changed %s to %v", c, j["state"])
	}
	var jobs []map[string]any
	decode(t, d.ok(t, "--json", "enqueue", c), &jobs)
	if len(jobs) != 1 || jobs[0]["id"] != c {
		t.Fatalf("enqueue --json: %v", jobs)
	}
}

func TestCancelPauseResumeRetry(t *testing.T) {
	d := startDaemon(t, nil)
	jid := id(t, d.ok(t, "submit", "chaos.progress", "--args", `{"steps":200,"ms":50}`))
	d.waitFor(t, jid, "running")
	if out := d.ok(t, "pause", jid); !strings.HasPrefix(out, jid+"  paused") {
		t.Fatalf("pause printed %q", out)
	}
	if j := jobJSON(t, d.ok(t, "--json", "get", jid)); j["paused_from"] != "running" {
		t.Fatalf("paused job: %v", j)
	}
	d.fails(t, 1, "resume nope: job nope not found", "resume", "nope")
	d.ok(t, "resume", jid)
	d.waitFor(t, jid, "running")
	d.ok(t, "cancel", jid)
	d.waitFor(t, jid, "canceled")
	// Several ids: each is tried; refusals are reported and exit 1, the
	// others are done and printed.
	r := d.cli(t, "", "retry", "nope", jid)
	if r.code != 1 || !strings.HasPrefix(r.stdout, jid+"  ") || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "retry nope: job nope not found") {
		t.Fatalf("retry nope %s: %+v", jid, r)
	}
	d.ok(t, "cancel", jid)
	d.waitFor(t, jid, "canceled")
	d.fails(t, 1, "cancel "+jid+": ", "cancel", jid)
	var jobs []map[string]any
	decode(t, d.ok(t, "--json", "retry", jid), &jobs)
	if len(jobs) != 1 || jobs[0]["id"] != jid {
		t.Fatalf("retry --json: %v", jobs)
	}
	d.ok(t, "cancel", jid)
	d.fails(t, 2, "requires at least 1 arg(s)", "pause")
}
