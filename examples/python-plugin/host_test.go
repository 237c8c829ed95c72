package pythonplugin_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/internal/testbin"
)

// The host discovers and describes a Python plugin like any other, runs
// its task and stores the result.
func TestTextstatsRunsInTheHost(t *testing.T) {
	h := openHost(t, nil)
	var found bool
	for _, ti := range h.Tasks() {
		if ti.Name == "textstats.analyze" {
			found = true
			if ti.Plugin != "textstats" || ti.Version != "1.0.0" || !strings.Contains(ti.Description, "language") {
				t.Errorf("task info %+v", ti)
			}
		}
	}
	if !found {
		t.Fatalf("textstats.analyze not among %+v", h.Tasks())
	}
	p := filepath.Join(t.TempDir(), "en.txt")
	if err := os.WriteFile(p, []byte("The cat and the dog.\nThe end of the story, and of the day.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id := submit(t, h, host.JobSpec{Task: "textstats.analyze", Args: map[string]any{"path": p, "top": 2}})
	j := wait(t, h, id)
	if j.State != host.StateCompleted {
		t.Fatalf("job ended %s: %+v", j.State, j.Error)
	}
	var out struct {
		Words, Unique, Lines int
		Top                  []struct {
			Word  string
			Count int
		}
		Language string
	}
	if err := h.Result(ctxT(t), id, &out); err != nil {
		t.Fatal(err)
	}
	if out.Words != 14 || out.Unique != 8 || out.Lines != 2 || out.Language != "en" || len(out.Top) != 2 || out.Top[0].Word != "the" || out.Top[0].Count != 5 {
		t.Errorf("result %+v", out)
	}
	if j.Progress.Fraction != 1 {
		t.Errorf("progress %+v, want the last chunk's 1", j.Progress)
	}
}

// Progress and log records reach subscribers in the order the task made
// them, and the log is kept with the job.
func TestProgressAndLogsInOrder(t *testing.T) {
	h := openHost(t, nil)
	rec := record(t, h, host.EventFilter{})
	id := submit(t, h, host.JobSpec{Task: "pychaos.steps", Args: map[string]int{"n": 4}})
	evs := rec.until(t, stateEvent(id, host.StateCompleted))
	var got []string
	for _, e := range evs {
		switch {
		case e.Job != id:
		case e.Type == host.EventJobProgress:
			got = append(got, fmt.Sprintf("progress %.2f %s", e.Progress.Fraction, e.Progress.Message))
		case e.Type == host.EventJobLog:
			got = append(got, fmt.Sprintf("log %s %s %s", e.Log.Level, e.Log.Message, e.Log.Fields))
		}
	}
	var want []string
	for i := 1; i <= 4; i++ {
		want = append(want, fmt.Sprintf("progress %.2f step %d", float64(i)/4, i), fmt.Sprintf(`log info step {"i":%d}`, i))
	}
	if !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
	logs, err := h.Logs(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 4 || logs[3].Message != "step" || string(logs[3].Fields) != `{"i":4}` {
		t.Errorf("stored logs %+v", logs)
	}
}

// Permanent and InvalidArgs end the job at once, whatever attempts are
// left; so do args the SDK cannot decode.
func TestPermanentAndInvalidArgsAreNotRetried(t *testing.T) {
	h := openHost(t, nil)
	for _, tc := range []struct {
		task     string
		args     any
		kind     host.ErrorKind
		contains string
	}{
		{"pychaos.permanent", nil, "permanent", "can never work"},
		{"pychaos.invalid", nil, "invalid_args", "wrong on purpose"},
		{"pychaos.sleep", map[string]any{"ms": "soon"}, "invalid_args", "want integer"},
		{"pychaos.sleep", map[string]any{"msec": 1}, "invalid_args", `unknown field "msec"`},
		{"textstats.analyze", map[string]any{"path": "notes.txt"}, "invalid_args", "relative"},
		{"textstats.analyze", map[string]any{"path": "/no/such/file.txt"}, "invalid_args", "does not exist"},
	} {
		t.Run(tc.task, func(t *testing.T) {
			id := submit(t, h, host.JobSpec{Task: tc.task, Args: tc.args, MaxAttempts: 3})
			j := wait(t, h, id)
			if j.State != host.StateFailed || j.Error == nil || j.Error.Kind != tc.kind || j.Error.Retryable ||
				!strings.Contains(j.Error.Message, tc.contains) {
				t.Fatalf("job %s %+v, want failed with a non-retryable %s naming %q", j.State, j.Error, tc.kind, tc.contains)
			}
			if j.Attempt != 1 || len(j.Attempts) != 1 {
				t.Errorf("%d attempts, want 1", len(j.Attempts))
			}
		})
	}
}

// A plain exception is a retryable task_error with the exception's
// message (not a traceback); the traceback is in the job's log. The job
// succeeds once the task does.
func TestPlainExceptionIsRetriedThenSucceeds(t *testing.T) {
	h := openHost(t, nil)
	id := submit(t, h, host.JobSpec{Task: "pychaos.fail", Args: map[string]int{"times": 2}, MaxAttempts: 3})
	j := wait(t, h, id)
	if j.State != host.StateCompleted || j.Attempt != 3 {
		t.Fatalf("job %s after %d attempts: %+v", j.State, j.Attempt, j.Error)
	}
	for i, a := range j.Attempts[:2] {
		want := fmt.Sprintf("RuntimeError: fail on attempt %d of 2", i+1)
		if a.Error == nil || a.Error.Kind != "task_error" || a.Error.Message != want {
			t.Errorf("attempt %d error %+v, want task_error %q", i+1, a.Error, want)
		}
	}
	var out struct{ Attempt int }
	if err := h.Result(ctxT(t), id, &out); err != nil || out.Attempt != 3 {
		t.Errorf("result %+v, %v", out, err)
	}
	logs, err := h.Logs(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	var tracebacks int
	for _, l := range logs {
		if l.Level == "error" && strings.Contains(string(l.Fields), "Traceback (most recent call last)") &&
			strings.Contains(string(l.Fields), "RuntimeError") {
			tracebacks++
		}
	}
	if tracebacks != 2 {
		t.Errorf("%d traceback records in the log, want one per failed attempt: %+v", tracebacks, logs)
	}
}

// A Python plugin that dies mid-attempt (os._exit, SIGKILL of itself)
// fails only that attempt, as plugin_crashed with its exit status and
// stderr; the next job runs in a fresh process.
func TestCrashFailsOnlyItsAttempt(t *testing.T) {
	h := openHost(t, func(c *host.Config) { c.MaxWorkers = 1 })
	for _, tc := range []struct{ task, exit, stderr string }{
		{"pychaos.exit", "exit status 3", "exiting with status 3"},
		{"pychaos.kill", "signal: killed", ""},
	} {
		t.Run(tc.task, func(t *testing.T) {
			crash := submit(t, h, host.JobSpec{Task: tc.task, MaxAttempts: 1})
			next := submit(t, h, host.JobSpec{Task: "pychaos.echo", Args: map[string]string{"after": tc.task}})
			j := wait(t, h, crash)
			if j.State != host.StateFailed || j.Error == nil || j.Error.Kind != "plugin_crashed" || !j.Error.Retryable {
				t.Fatalf("crashing job %s %+v, want failed plugin_crashed", j.State, j.Error)
			}
			if j.Error.Exit != tc.exit || !strings.Contains(j.Error.Stderr, tc.stderr) {
				t.Errorf("crash exit %q stderr %q, want %q and %q", j.Error.Exit, j.Error.Stderr, tc.exit, tc.stderr)
			}
			n := wait(t, h, next)
			if n.State != host.StateCompleted || string(n.Result) != fmt.Sprintf(`{"after":%q}`, tc.task) {
				t.Errorf("next job %s %s %+v", n.State, n.Result, n.Error)
			}
		})
	}
	// Retried, a crash is just another attempt.
	id := submit(t, h, host.JobSpec{Task: "pychaos.exit", MaxAttempts: 2})
	if j := wait(t, h, id); j.State != host.StateFailed || len(j.Attempts) != 2 {
		t.Errorf("crash with 2 attempts: %s after %d", j.State, len(j.Attempts))
	}
}

// Cancel of a running task: the task sees job.cancelled and returns within
// the kill grace, so its process is not killed: the next job runs in the
// same process. The job is canceled, not retried.
func TestCancelRunningTaskEndsWithinGrace(t *testing.T) {
	h := openHost(t, func(c *host.Config) { c.MaxWorkers = 1; c.KillGrace = 10 * time.Second })
	rec := record(t, h, host.EventFilter{})
	id := submit(t, h, host.JobSpec{Task: "pychaos.sleep", Args: map[string]int{"ms": 120_000}, MaxAttempts: 3})
	pid := sleepingPID(t, rec, id)
	if err := h.Cancel(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	j := wait(t, h, id)
	if j.State != host.StateCanceled || len(j.Attempts) != 1 {
		t.Fatalf("job %s after %d attempts: %+v", j.State, len(j.Attempts), j.Error)
	}
	next := wait(t, h, submit(t, h, host.JobSpec{Task: "pychaos.steps", Args: map[string]int{"n": 1}}))
	var out struct{ PID int }
	if err := json.Unmarshal(next.Result, &out); err != nil {
		t.Fatal(err)
	}
	if out.PID != pid {
		t.Errorf("next job ran in process %d, want the cancelled task's %d (reused, not killed)", out.PID, pid)
	}
}

// TestLogsAfterCancelReachTheJobLog: what a Python task logs between its
// cancel and its return (its clean-up) is in the job's log: the host
// cancels with the Cancel call, which leaves the Execute stream open.
func TestLogsAfterCancelReachTheJobLog(t *testing.T) {
	h := openHost(t, func(c *host.Config) { c.MaxWorkers = 1; c.KillGrace = 10 * time.Second })
	rec := record(t, h, host.EventFilter{})
	id := submit(t, h, host.JobSpec{Task: "pychaos.linger", Args: map[string]int{"lines": 3}})
	rec.until(t, func(e host.Event) bool {
		return e.Type == host.EventJobLog && e.Job == id && e.Log.Message == "waiting for the cancel"
	})
	if err := h.Cancel(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	if j := wait(t, h, id); j.State != host.StateCanceled {
		t.Fatalf("job %s %+v, want canceled", j.State, j.Error)
	}
	logs, err := h.Logs(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range logs {
		got = append(got, l.Message+string(l.Fields))
	}
	want := []string{"waiting for the cancel{}", `cleanup{"i":1}`, `cleanup{"i":2}`, `cleanup{"i":3}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("job log (-want +got):\n%s", diff)
	}
}

// A task that ignores cancellation is killed with its process after the
// grace; the next job gets a fresh process.
func TestTaskIgnoringCancelIsKilled(t *testing.T) {
	h := openHost(t, func(c *host.Config) { c.MaxWorkers = 1; c.KillGrace = 300 * time.Millisecond })
	rec := record(t, h, host.EventFilter{})
	id := submit(t, h, host.JobSpec{Task: "pychaos.hang"})
	pid := logPID(t, rec, id, "hanging")
	if err := h.Cancel(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	if j := wait(t, h, id); j.State != host.StateCanceled {
		t.Fatalf("job %s %+v", j.State, j.Error)
	}
	next := wait(t, h, submit(t, h, host.JobSpec{Task: "pychaos.steps", Args: map[string]int{"n": 1}}))
	var out struct{ PID int }
	if err := json.Unmarshal(next.Result, &out); err != nil {
		t.Fatal(err)
	}
	if out.PID == pid {
		t.Errorf("next job ran in the hung process %d", pid)
	}
	waitGone(t, pid)
}

// Pause stops the whole Python process (SIGSTOP of its group); resume
// continues it, and the same process finishes the task.
func TestPauseAndResumeRunningTask(t *testing.T) {
	tag := fmt.Sprintf("BH_PYTEST_PAUSE=%d", time.Now().UnixNano())
	h := openHost(t, func(c *host.Config) { c.PluginEnv = []string{tag} })
	rec := record(t, h, host.EventFilter{})
	id := submit(t, h, host.JobSpec{Task: "pychaos.sleep", Args: map[string]int{"ms": 4000}, Timeout: 30 * time.Second})
	pid := sleepingPID(t, rec, id)
	if ps := procsByEnv(t, tag, 2); !slices.ContainsFunc(ps, func(p testbin.Proc) bool { return p.PID == pid }) {
		t.Fatalf("tagged processes %+v, task runs in %d", ps, pid)
	}
	if err := h.Pause(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	rec.until(t, stateEvent(id, host.StatePaused))
	waitState(t, pid, func(s string) bool { return s == "T" }, "stopped (T)")
	if err := h.Resume(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	waitState(t, pid, func(s string) bool { return s != "T" }, "running again")
	j := wait(t, h, id)
	if j.State != host.StateCompleted || len(j.Attempts) != 1 {
		t.Fatalf("job %s after %d attempts: %+v", j.State, len(j.Attempts), j.Error)
	}
	var out struct{ PID int }
	if err := json.Unmarshal(j.Result, &out); err != nil || out.PID != pid {
		t.Errorf("result %s, want it from process %d", j.Result, pid)
	}
}

// A task still running at its timeout is cancelled; the attempt fails
// with kind timeout.
func TestTimeout(t *testing.T) {
	h := openHost(t, nil)
	id := submit(t, h, host.JobSpec{Task: "pychaos.sleep", Args: map[string]int{"ms": 120_000}, Timeout: 300 * time.Millisecond, MaxAttempts: 2})
	j := wait(t, h, id)
	if j.State != host.StateFailed || j.Error == nil || j.Error.Kind != "timeout" || len(j.Attempts) != 2 {
		t.Fatalf("job %s after %d attempts: %+v, want failed by timeout twice", j.State, len(j.Attempts), j.Error)
	}
}

// The SDK's heartbeats keep a task that reports nothing for longer than
// the job's stall timeout from being failed as stalled (the host asks for
// one a second).
func TestHeartbeatsKeepASilentTaskAlive(t *testing.T) {
	h := openHost(t, nil)
	id := submit(t, h, host.JobSpec{Task: "pychaos.quiet", Args: map[string]int{"ms": 2500}, StallTimeout: 1500 * time.Millisecond, MaxAttempts: 1})
	if j := wait(t, h, id); j.State != host.StateCompleted {
		t.Fatalf("job %s %+v, want completed", j.State, j.Error)
	}
}

// sleepingPID waits for a pychaos.sleep job's first log record and returns
// the pid it reports.
func sleepingPID(t *testing.T, rec *recorder, id string) int {
	t.Helper()
	return logPID(t, rec, id, "sleeping")
}

func logPID(t *testing.T, rec *recorder, id, msg string) int {
	t.Helper()
	evs := rec.until(t, func(e host.Event) bool {
		return e.Job == id && e.Type == host.EventJobLog && e.Log.Message == msg
	})
	var f struct{ PID int }
	if err := json.Unmarshal(evs[len(evs)-1].Log.Fields, &f); err != nil || f.PID == 0 {
		t.Fatalf("log fields %s: %v", evs[len(evs)-1].Log.Fields, err)
	}
	return f.PID
}

// waitState waits until the process's state (from /proc) satisfies ok.
func waitState(t *testing.T, pid int, ok func(string) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var state string
		for _, p := range testbin.Descendants(os.Getpid()) {
			if p.PID == pid {
				state = p.State
			}
		}
		if state != "" && ok(state) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d is %q, want %s", pid, state, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitGone waits until the process is no longer alive (gone or a zombie
// about to be reaped).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		gone := true
		for _, p := range testbin.Descendants(os.Getpid()) {
			if p.PID == pid && p.State != "Z" {
				gone = false
			}
		}
		if gone {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
