package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

func TestWaitExitCodes(t *testing.T) {
	d := startDaemon(t, nil)
	a := id(t, d.ok(t, "submit", "chaos.noop"))
	b := id(t, d.ok(t, "submit", "chaos.sleep", "--args", `{"ms":50}`))
	out := d.ok(t, "wait", a, b)
	if !strings.Contains(out, a+" completed\n") || !strings.Contains(out, b+" completed\n") || strings.Contains(out, "\x1b") {
		t.Fatalf("plain wait output %q", out)
	}
	var jobs []map[string]any
	decode(t, d.ok(t, "--json", "wait", a, b), &jobs)
	if len(jobs) != 2 || jobs[0]["id"] != a || jobs[1]["state"] != "completed" {
		t.Fatalf("wait --json: %v", jobs)
	}

	failed := id(t, d.ok(t, "submit", "chaos.fail", "--args", `{"times":9,"permanent":true}`))
	r := d.cli(t, "", "wait", a, failed)
	if r.code != 1 || !strings.Contains(r.stdout, failed+" failed: permanent: ") || r.stderr != "" {
		t.Fatalf("wait with a failed job: %+v", r)
	}
	canceled := id(t, d.ok(t, "submit", "chaos.sleep", "--args", `{"ms":60000}`))
	d.ok(t, "cancel", canceled)
	if r := d.cli(t, "", "wait", canceled); r.code != 1 || !strings.Contains(r.stdout, canceled+" canceled") {
		t.Fatalf("wait on a canceled job: %+v", r)
	}

	slow := id(t, d.ok(t, "submit", "chaos.sleep", "--args", `{"ms":60000}`))
	start := time.Now()
	d.fails(t, 2, "timed out: 1 of 2 jobs not finished", "wait", a, slow, "--timeout", "300ms")
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("wait --timeout 300ms took %s", took)
	}
	d.ok(t, "cancel", slow)
	// A timeout too short even to ask is still a timeout, not "no host".
	r = d.fails(t, 2, "timed out: 1 of 1 jobs not finished", "wait", a, "--timeout", "1ns")
	if strings.Contains(r.stderr, "no host") {
		t.Fatalf("wait --timeout 1ns: %q", r.stderr)
	}
	r = d.fails(t, 2, "timed out", "group", "wait", "nope", "--timeout", "1ns")
	if strings.Contains(r.stderr, "no host") || strings.Contains(r.stderr, "deadline") {
		t.Fatalf("group wait --timeout 1ns: %q", r.stderr)
	}
	// An error is exit 2, not 1: 1 would say a job failed.
	d.fails(t, 2, "job nope not found", "wait", a, "nope")
	d.fails(t, 2, "invalid argument \"soon\" for \"--timeout\"", "wait", a, "--timeout", "soon")
}

// On a terminal, wait draws a progress bar per job and redraws it in
// place as progress arrives; the same command piped prints plain lines
// (TestWaitExitCodes checks there is no escape sequence then).
func TestWaitShowsLiveProgressOnATerminal(t *testing.T) {
	d := startDaemon(t, nil)
	a := id(t, d.ok(t, "submit", "chaos.progress", "--args", `{"steps":4,"ms":300}`))
	b := id(t, d.ok(t, "submit", "chaos.fail", "--args", `{"times":9,"permanent":true}`, "--delay", "500ms"))

	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 160}); err != nil {
		t.Fatal(err)
	}
	var screen bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		io.Copy(&screen, ptmx) // ends with EIO once the tty side is closed
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var errb bytes.Buffer
	code := run(ctx, []string{"wait", a, b}, strings.NewReader(""), tty, &errb, func(k string) string { return d.env[k] })
	tty.Close()
	<-read
	out := screen.String()
	if code != 1 || errb.Len() != 0 {
		t.Fatalf("exit %d (want 1: one job failed), stderr %q\n%s", code, errb.String(), out)
	}
	if !strings.Contains(out, "\x1b[2A") {
		t.Fatalf("no in-place redraw (cursor up over 2 lines) in %q", out)
	}
	bar := regexp.MustCompile(a + `  chaos.progress  \[(#*)(\.*)\] +(\d+)%  (\w+)`)
	var percents []string
	for _, m := range bar.FindAllStringSubmatch(out, -1) {
		if len(m[1])+len(m[2]) != barWidth {
			t.Fatalf("bar of %d cells: %q", len(m[1])+len(m[2]), m[0])
		}
		if len(percents) == 0 || percents[len(percents)-1] != m[3] {
			percents = append(percents, m[3])
		}
	}
	// 0% before it starts, then steps of 25%, ending at 100%: at least one
	// step between the ends shows the bar is live, not just drawn twice.
	if len(percents) < 3 || percents[0] != "0" || percents[len(percents)-1] != "100" {
		t.Fatalf("progress seen %v, want 0 ... 100 with steps between, in:\n%q", percents, out)
	}
	if !strings.Contains(out, "failed     permanent: chaos: planned failure") {
		t.Fatalf("failed job's line lacks its error:\n%q", out)
	}
	if strings.Count(out, "\n") > 200 {
		t.Fatalf("the view scrolled instead of redrawing in place")
	}
}
