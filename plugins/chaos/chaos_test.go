package chaos_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/plugins/chaos"
	"github.com/batchhost/batchhost/sdk/sdktest"
)

func TestConformance(t *testing.T) { sdktest.Conformance(t, chaos.Plugin()) }

func TestNoop(t *testing.T) {
	res := sdktest.Run(t, chaos.Plugin(), "noop", nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if string(res.Output) != "{}" {
		t.Errorf("output %s, want {}", res.Output)
	}
}

func TestEchoReturnsArgsByteForByte(t *testing.T) {
	for _, in := range []string{
		`{"a":1,"b":[true,null,"x"]}`,
		`{ "spaced" :  [1, 2] }`,
		`"<html> & unicode: äöü 日本"`,
		`[]`,
		`3.25e10`,
	} {
		res := sdktest.Run(t, chaos.Plugin(), "echo", json.RawMessage(in))
		if res.Err != nil {
			t.Fatalf("echo %s: %v", in, res.Err)
		}
		if string(res.Output) != in {
			t.Errorf("echo %s returned %s", in, res.Output)
		}
	}
}

func TestSleep(t *testing.T) {
	res := sdktest.Run(t, chaos.Plugin(), "sleep", map[string]int{"ms": 20})
	var out struct {
		SleptMS int `json:"slept_ms"`
	}
	res.Decode(&out)
	if out.SleptMS != 20 {
		t.Errorf("slept_ms = %d, want 20", out.SleptMS)
	}
}

func TestSleepStopsAtTimeout(t *testing.T) {
	start := time.Now()
	res := sdktest.Run(t, chaos.Plugin(), "sleep", map[string]int{"ms": 60_000}, sdktest.WithTimeout(50*time.Millisecond))
	if res.Err == nil || res.Err.Kind != "timeout" {
		t.Fatalf("err = %v, want kind timeout", res.Err)
	}
	if res.Abandoned {
		t.Error("sleep ignored its cancelled ctx")
	}
	if elapsed := time.Since(start); elapsed > 30*time.Second {
		t.Errorf("took %v; the sleep was not interrupted", elapsed)
	}
}

func TestSleepStopsAtCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer time.AfterFunc(50*time.Millisecond, cancel).Stop() // a user's cancel mid-sleep
	start := time.Now()
	res := sdktest.Run(t, chaos.Plugin(), "sleep", map[string]int{"ms": 60_000}, sdktest.WithContext(ctx))
	if res.Err == nil || res.Err.Kind != "canceled" || res.Err.Retryable {
		t.Fatalf("err = %+v, want kind canceled, not retryable", res.Err)
	}
	if res.Abandoned {
		t.Error("sleep ignored its cancelled ctx")
	}
	if elapsed := time.Since(start); elapsed > 30*time.Second {
		t.Errorf("took %v; the sleep was not interrupted", elapsed)
	}
}

func TestFail(t *testing.T) {
	tests := []struct {
		args      string
		attempt   int
		wantKind  string // "" for success
		retryable bool
	}{
		{`{"times":2}`, 1, "task_error", true},
		{`{"times":2}`, 2, "task_error", true},
		{`{"times":2}`, 3, "", false},
		{`{"times":1,"permanent":true}`, 1, "permanent", false},
		{`{"times":1,"permanent":true}`, 2, "", false},
		{`{}`, 1, "", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/attempt%d", tt.args, tt.attempt), func(t *testing.T) {
			res := sdktest.Run(t, chaos.Plugin(), "fail", json.RawMessage(tt.args), sdktest.WithAttempt(tt.attempt))
			if tt.wantKind == "" {
				var out struct{ Attempt int }
				res.Decode(&out)
				if out.Attempt != tt.attempt {
					t.Errorf("attempt = %d, want %d", out.Attempt, tt.attempt)
				}
				return
			}
			if res.Err == nil || res.Err.Kind != tt.wantKind || res.Err.Retryable != tt.retryable {
				t.Fatalf("err = %+v, want kind %s retryable %v", res.Err, tt.wantKind, tt.retryable)
			}
			if !strings.Contains(res.Err.Message, "planned failure") {
				t.Errorf("message %q does not say the failure was planned", res.Err.Message)
			}
		})
	}
}

func TestPanicIsACrash(t *testing.T) {
	res := sdktest.Run(t, chaos.Plugin(), "panic", map[string]string{"message": "boom 42"})
	if res.Err == nil || res.Err.Kind != "plugin_crashed" {
		t.Fatalf("err = %v, want kind plugin_crashed", res.Err)
	}
	if !strings.Contains(res.Err.Message, "boom 42") {
		t.Errorf("message %q lacks the panic value", res.Err.Message)
	}
}

func TestProgressEventsInOrder(t *testing.T) {
	res := sdktest.Run(t, chaos.Plugin(), "progress", map[string]int{"steps": 4, "ms": 1})
	var out struct{ Steps int }
	res.Decode(&out)
	if out.Steps != 4 {
		t.Errorf("steps = %d, want 4", out.Steps)
	}
	var got []string
	for _, ev := range res.Events {
		switch ev := ev.(type) {
		case sdktest.Progress:
			got = append(got, fmt.Sprintf("progress %.2f %s", ev.Fraction, ev.Message))
		case sdktest.Log:
			got = append(got, fmt.Sprintf("log %s %s i=%v", ev.Level, ev.Message, ev.Fields["i"]))
		}
	}
	want := []string{
		"progress 0.25 step 1/4", "log info step i=1",
		"progress 0.50 step 2/4", "log info step i=2",
		"progress 0.75 step 3/4", "log info step i=3",
		"progress 1.00 step 4/4", "log info step i=4",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestProgressCrashAt: the events before the crash arrive, then the task
// panics (a plugin_crashed result under sdktest).
func TestProgressCrashAt(t *testing.T) {
	res := sdktest.Run(t, chaos.Plugin(), "progress", map[string]int{"steps": 5, "ms": 1, "crash_at": 2})
	if res.Err == nil || res.Err.Kind != "plugin_crashed" || !strings.Contains(res.Err.Message, "planned crash after step 2") {
		t.Fatalf("err = %v, want the planned crash", res.Err)
	}
	if n := len(res.Progress()); n != 2 {
		t.Errorf("%d progress reports before the crash, want 2", n)
	}
}

func TestAlloc(t *testing.T) {
	res := sdktest.Run(t, chaos.Plugin(), "alloc", map[string]int{"mb": 8, "hold_ms": 1})
	var out struct{ MB int }
	res.Decode(&out)
	if out.MB != 8 {
		t.Errorf("mb = %d, want 8", out.MB)
	}
}

func TestLog(t *testing.T) {
	res := sdktest.Run(t, chaos.Plugin(), "log", map[string]any{"lines": 3, "level": "warn"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	logs := res.Logs()
	if len(logs) != 3 {
		t.Fatalf("got %d log records, want 3", len(logs))
	}
	for i, l := range logs {
		if l.Level != "warn" || l.Message != fmt.Sprintf("line %d", i+1) || l.Fields["i"] != float64(i+1) {
			t.Errorf("record %d = %+v", i, l)
		}
	}
}

func TestInvalidArgs(t *testing.T) {
	tests := []struct{ task, args, want string }{
		{"sleep", `{"ms":-1}`, "ms must be"},
		{"sleep", `{"ms":"10"}`, `field "ms": expected an integer, got a string`},
		{"sleep", `{"msec":10}`, `unknown field "msec"`},
		{"fail", `{"times":-1}`, "times must be"},
		{"exit", `{"code":300}`, "code must be"},
		{"progress", `{}`, "steps must be"},
		{"progress", `{"steps":0,"ms":1}`, "steps must be"},
		{"progress", `{"steps":2,"ms":-5}`, "ms must be"},
		{"progress", `{"steps":2,"crash_at":3}`, "crash_at must be"},
		{"alloc", `{"mb":-1}`, "mb must be"},
		{"alloc", `{"mb":1,"hold_ms":-1}`, "hold_ms must be"},
		{"log", `{"lines":1,"level":"loud"}`, "level must be"},
		{"noop", `{"x":1}`, `unknown field "x"`},
		{"kill", `{"now":true}`, `unknown field "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.task+" "+tt.args, func(t *testing.T) {
			res := sdktest.Run(t, chaos.Plugin(), tt.task, json.RawMessage(tt.args))
			if res.Err == nil || res.Err.Kind != "invalid_args" || res.Err.Retryable {
				t.Fatalf("err = %+v, want kind invalid_args, not retryable", res.Err)
			}
			if !strings.Contains(res.Err.Message, tt.want) {
				t.Errorf("message %q does not contain %q", res.Err.Message, tt.want)
			}
		})
	}
}

// TestLingerLogsAfterItsCancel: sdktest collects what a task sends after
// its cancel, as the host does.
func TestLingerLogsAfterItsCancel(t *testing.T) {
	res := sdktest.Run(t, chaos.Plugin(), "linger", map[string]int{"lines": 2}, sdktest.WithTimeout(20*time.Millisecond))
	if res.Err == nil || res.Err.Kind != "timeout" || res.Abandoned {
		t.Fatalf("result %+v, want a timeout, not abandoned", res.Err)
	}
	var got []string
	for _, l := range res.Logs() {
		got = append(got, fmt.Sprint(l.Message, l.Fields["i"]))
	}
	if diff := cmp.Diff([]string{"waiting for the cancel<nil>", "cleanup1", "cleanup2"}, got); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
	if p := res.Progress(); len(p) != 1 || p[0].Message != "cleaned up" {
		t.Errorf("progress %+v", p)
	}
}
