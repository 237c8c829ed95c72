package main

import (
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host"
)

func TestListShowsWhyFailedJobsFailed(t *testing.T) {
	d := startDaemon(t, nil)
	failed := id(t, d.ok(t, "submit", "chaos.fail", "--args", `{"times":9,"permanent":true}`))
	done := id(t, d.ok(t, "submit", "chaos.noop"))
	d.cli(t, "", "wait", failed, done)
	lines := strings.Split(strings.TrimSpace(d.ok(t, "list")), "\n")
	if len(lines) != 3 || !strings.HasSuffix(strings.TrimSpace(lines[0]), "GROUP  ERROR") {
		t.Fatalf("list:\n%s", strings.Join(lines, "\n"))
	}
	rows := map[string]string{}
	for _, l := range lines[1:] {
		rows[strings.Fields(l)[0]] = l
	}
	want := "permanent: chaos: planned failure on attempt 1 (fails while…"
	if !strings.HasSuffix(rows[failed], "  "+want) {
		t.Errorf("failed job's row %q does not end in %q", rows[failed], want)
	}
	if !strings.HasSuffix(rows[done], "  -") {
		t.Errorf("completed job's row %q does not end in -", rows[done])
	}
}

func TestListErrorIsKindAndFirstLine(t *testing.T) {
	failed := func(msg string) *host.Job {
		return &host.Job{State: host.StateFailed, Error: &host.JobError{Kind: host.ErrorKind("task_error"), Message: msg}}
	}
	for _, c := range []struct {
		name string
		job  *host.Job
		want string
	}{
		{"short", failed("disk full"), "task_error: disk full"},
		{"first line only", failed("\n  open /x: no such file\n\tat line 2\n"), "task_error: open /x: no such file"},
		{"tabs and runs of spaces", failed("a\tb   c"), "task_error: a b c"},
		{"long", failed(strings.Repeat("é", 100)), "task_error: " + strings.Repeat("é", listErrorWidth-len("task_error: ")-1) + "…"},
		{"no message", failed(""), "task_error"},
		{"not failed", &host.Job{State: host.StateCanceled, Error: &host.JobError{Kind: host.ErrorKind("task_error"), Message: "x"}}, "-"},
		{"no error", &host.Job{State: host.StateCompleted}, "-"},
	} {
		if got := listError(c.job); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
