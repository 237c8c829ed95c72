package main

import (
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// TestCancelSaysWhatHappened: cancel prints what it did — a job not
// running is canceled, a running one was asked to stop — and --wait
// returns once the job is canceled.
func TestCancelSaysWhatHappened(t *testing.T) {
	// The kill grace keeps a job that ignores its cancel running for a
	// while, so that "requested" is what the cancel sees.
	d := startDaemon(t, func(c *host.Config) { c.KillGrace = 5 * time.Second })
	created := id(t, d.ok(t, "create", "chaos.noop"))
	if out := d.ok(t, "cancel", created); out != created+"  canceled\n" {
		t.Fatalf("cancel of a created job printed %q", out)
	}
	hang := id(t, d.ok(t, "submit", "chaos.hang"))
	d.waitFor(t, hang, "running")
	if out := d.ok(t, "cancel", hang); out != hang+"  cancel requested: running job will stop within the kill grace\n" {
		t.Fatalf("cancel of a running job printed %q", out)
	}
	if out := d.ok(t, "cancel", "--wait", hang); out != hang+"  canceled\n" {
		t.Fatalf("cancel --wait printed %q", out)
	}
	sleep := id(t, d.ok(t, "submit", "chaos.sleep", "--args", `{"ms":60000}`))
	d.waitFor(t, sleep, "running")
	var jobs []map[string]any
	decode(t, d.ok(t, "--json", "cancel", "--wait", sleep), &jobs)
	if len(jobs) != 1 || jobs[0]["state"] != "canceled" {
		t.Fatalf("cancel --wait --json: %v", jobs)
	}
	// A finished job cannot be canceled: one line, exit 1.
	r := d.fails(t, 1, "cancel "+sleep+": job "+sleep+" is already canceled", "cancel", sleep)
	if r.stdout != "" {
		t.Fatalf("refused cancel printed %q", r.stdout)
	}
}
