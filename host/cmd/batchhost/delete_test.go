package main

import (
	"testing"
)

func TestDeleteCommand(t *testing.T) {
	d := startDaemon(t, nil)
	a := id(t, d.ok(t, "submit", "chaos.noop"))
	b := id(t, d.ok(t, "submit", "chaos.log", "--args", `{"lines":2}`))
	d.ok(t, "wait", a, b)
	running := id(t, d.ok(t, "submit", "chaos.sleep", "--args", `{"ms":60000}`))
	d.waitFor(t, running, "running")

	// One unfinished job refuses them all, in one line naming it.
	d.fails(t, 1, "job "+running+" is running, not finished (none of the 2 jobs was deleted)", "delete", a, running)
	d.ok(t, "get", a)
	d.fails(t, 1, "job 0190f1c2-0000-7000-8000-000000000000 not found", "delete", a, "0190f1c2-0000-7000-8000-000000000000")
	d.fails(t, 1, "named twice", "delete", a, a)
	d.fails(t, 2, "requires at least 1 arg(s)", "delete")
	d.ok(t, "get", a)

	// Prefixes name jobs as everywhere; the whole ids are printed.
	out := d.ok(t, "delete", a[:13], b)
	if out != a+"  deleted\n"+b+"  deleted\n" {
		t.Fatalf("delete printed %q", out)
	}
	d.fails(t, 1, "not found", "get", a)
	d.fails(t, 1, "not found", "logs", b)

	d.ok(t, "cancel", running)
	d.waitFor(t, running, "canceled")
	var ids []string
	decode(t, d.ok(t, "--json", "delete", running), &ids)
	if len(ids) != 1 || ids[0] != running {
		t.Fatalf("delete --json: %v", ids)
	}
}

func TestPurgeCommand(t *testing.T) {
	d := startDaemon(t, nil)
	var failed []string
	for range 2 {
		jid := id(t, d.ok(t, "submit", "chaos.fail", "--args", `{"times":99,"permanent":true}`, "--max-attempts", "1"))
		d.waitFor(t, jid, "failed")
		failed = append(failed, jid)
	}
	canceled := id(t, d.ok(t, "create", "chaos.noop"))
	d.ok(t, "cancel", canceled)
	done := id(t, d.ok(t, "submit", "chaos.noop"))
	echo := id(t, d.ok(t, "submit", "chaos.echo"))
	d.ok(t, "wait", done, echo)
	running := id(t, d.ok(t, "submit", "chaos.sleep", "--args", `{"ms":60000}`))
	d.waitFor(t, running, "running")

	d.fails(t, 2, "purge needs --state", "purge")
	d.fails(t, 2, "invalid --state running: purge takes finished states only", "purge", "--state", "running")
	d.fails(t, 2, "invalid --state", "purge", "--state", "failed,bogus")
	d.fails(t, 2, "invalid --older-than -1s", "purge", "--state", "failed", "--older-than", "-1s")
	d.fails(t, 2, "unknown command", "purge", "--state", "failed", failed[0])

	if out := d.ok(t, "purge", "--state", "failed", "--older-than", "1h"); out != "deleted 0 failed jobs that finished over 1h0m0s ago\n" {
		t.Fatalf("purge --older-than 1h printed %q", out)
	}
	if out := d.ok(t, "purge", "--state", "failed,canceled"); out != "deleted 3 failed or canceled jobs\n" {
		t.Fatalf("purge printed %q", out)
	}
	for _, jid := range append(failed, canceled) {
		d.fails(t, 1, "not found", "get", jid)
	}
	var n map[string]int
	decode(t, d.ok(t, "--json", "purge", "--state", "completed", "--task", "chaos.echo"), &n)
	if n["deleted"] != 1 {
		t.Fatalf("purge --json: %v", n)
	}
	d.fails(t, 1, "not found", "get", echo)
	d.ok(t, "get", done)
	if j := jobJSON(t, d.ok(t, "--json", "get", running)); j["state"] != "running" {
		t.Fatalf("purge touched the running job: %v", j["state"])
	}
	if out := d.ok(t, "purge", "--state", "completed", "--state", "canceled"); out != "deleted 1 completed or canceled job\n" {
		t.Fatalf("purge printed %q", out)
	}
}
