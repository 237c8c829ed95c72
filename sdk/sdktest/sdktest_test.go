package sdktest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batchhost/batchhost/sdk"
	"github.com/batchhost/batchhost/sdk/sdktest"
)

type args struct {
	Text string `json:"text"`
}

type out struct {
	Upper string `json:"upper"`
}

func upper(_ context.Context, job *sdk.Job, in args) (out, error) {
	if in.Text == "" {
		return out{}, sdk.Permanent(errors.New("text is empty"))
	}
	job.Progress(1, "done")
	return out{Upper: strings.ToUpper(in.Text)}, nil
}

func plugin(tasks ...sdk.Task) sdk.Plugin {
	return sdk.Plugin{Name: "t", Version: "1.0.0", Tasks: append([]sdk.Task{sdk.NewTask("upper", "Upper-cases a text", upper)}, tasks...)}
}

func TestRunSuccess(t *testing.T) {
	res := sdktest.Run(t, plugin(), "upper", args{Text: "abc"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var o out
	res.Decode(&o)
	if o.Upper != "ABC" || string(res.Output) != `{"upper":"ABC"}` {
		t.Errorf("output %s", res.Output)
	}
	if p := res.Progress(); len(p) != 1 || p[0] != (sdktest.Progress{Fraction: 1, Message: "done"}) {
		t.Errorf("progress %+v", p)
	}
}

func TestRunArgsForms(t *testing.T) {
	for _, a := range []any{map[string]string{"text": "x"}, json.RawMessage(`{"text":"x"}`), &args{Text: "x"}} {
		if res := sdktest.Run(t, plugin(), "upper", a); res.Err != nil {
			t.Errorf("args %T: %v", a, res.Err)
		}
	}
	res := sdktest.Run(t, plugin(), "upper", nil)
	if res.Err == nil || res.Err.Kind != "permanent" || res.Err.Message != "text is empty" {
		t.Errorf("nil args: %+v", res.Err)
	}
}

func TestRunTimeout(t *testing.T) {
	block := sdk.NewTask("block", "Blocks until cancelled", func(ctx context.Context, _ *sdk.Job, _ struct{}) (struct{}, error) {
		<-ctx.Done()
		return struct{}{}, ctx.Err()
	})
	res := sdktest.Run(t, plugin(block), "block", nil, sdktest.WithTimeout(20*time.Millisecond))
	if res.Err == nil || res.Err.Kind != "timeout" || !res.Err.Retryable || res.Abandoned || res.Output != nil {
		t.Fatalf("result %+v, want a retryable timeout, not abandoned", res)
	}
}

// TestRunCollectsEventsAfterTheCancel: what a task logs and reports after
// its cancel, before it returns, is in the Result, as it is in a host's
// job log.
func TestRunCollectsEventsAfterTheCancel(t *testing.T) {
	cleanup := sdk.NewTask("cleanup", "Cleans up after its cancel", func(ctx context.Context, job *sdk.Job, _ struct{}) (struct{}, error) {
		job.Log().Info("working")
		<-ctx.Done()
		job.Log().Info("cleaning up", "after", context.Cause(ctx) != nil)
		job.Progress(1, "cleaned up")
		return struct{}{}, ctx.Err()
	})
	res := sdktest.Run(t, plugin(cleanup), "cleanup", nil, sdktest.WithTimeout(20*time.Millisecond))
	if res.Err == nil || res.Err.Kind != "timeout" || res.Abandoned {
		t.Fatalf("result %+v, want a timeout, not abandoned", res.Err)
	}
	logs := res.Logs()
	if len(logs) != 2 || logs[0].Message != "working" || logs[1].Message != "cleaning up" || logs[1].Fields["after"] != true {
		t.Errorf("logs %+v, want working then cleaning up", logs)
	}
	if p := res.Progress(); len(p) != 1 || p[0].Message != "cleaned up" {
		t.Errorf("progress %+v", p)
	}
}

// TestRunAbandoned: a task that ignores cancellation is reported, and Run
// returns after the grace period instead of hanging.
func TestRunAbandoned(t *testing.T) {
	release := make(chan struct{})
	stubborn := sdk.NewTask("stubborn", "Ignores cancellation", func(context.Context, *sdk.Job, struct{}) (struct{}, error) {
		<-release
		return struct{}{}, nil
	})
	res := sdktest.Run(t, plugin(stubborn), "stubborn", nil, sdktest.WithTimeout(10*time.Millisecond), sdktest.WithGrace(50*time.Millisecond))
	close(release)
	if res.Err == nil || res.Err.Kind != "timeout" || !res.Abandoned {
		t.Fatalf("result %+v, want a timeout, abandoned", res)
	}
}

func TestRunCanceledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	res := sdktest.Run(t, plugin(), "upper", args{Text: "x"}, sdktest.WithContext(ctx))
	if res.Err == nil || res.Err.Kind != "canceled" || res.Err.Retryable {
		t.Fatalf("result %+v, want canceled", res)
	}
	if res.Abandoned || time.Since(start) > 4*time.Second {
		t.Errorf("Run waited for a task that never started (abandoned %v, %v)", res.Abandoned, time.Since(start))
	}
}

// fakeTB records Fatalf instead of failing the real test; Fatalf ends the
// goroutine as the real one does.
type fakeTB struct {
	testing.TB
	mu    sync.Mutex
	fatal []string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatal = append(f.fatal, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	runtime.Goexit()
}

// fatalOf runs fn with a fake TB and returns its Fatalf message, or "".
func fatalOf(t *testing.T, fn func(tb testing.TB)) string {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return strings.Join(f.fatal, "; ")
}

func TestRunMisuse(t *testing.T) {
	tests := []struct {
		name string
		fn   func(tb testing.TB)
		want string
	}{
		{"attempt 0", func(tb testing.TB) { sdktest.Run(tb, plugin(), "upper", nil, sdktest.WithAttempt(0)) }, "attempts count from 1"},
		{"attempt beyond max", func(tb testing.TB) {
			sdktest.Run(tb, plugin(), "upper", nil, sdktest.WithAttempt(4), sdktest.WithMaxAttempts(3))
		}, "attempt 4 is beyond max attempts 3"},
		{"negative timeout", func(tb testing.TB) { sdktest.Run(tb, plugin(), "upper", nil, sdktest.WithTimeout(-1)) }, "must be positive"},
		{"unencodable args", func(tb testing.TB) { sdktest.Run(tb, plugin(), "upper", make(chan int)) }, "encode args"},
		{"invalid plugin", func(tb testing.TB) { sdktest.Run(tb, sdk.Plugin{Name: "X"}, "upper", nil) }, `invalid plugin: plugin name "X" is invalid`},
		{"decode a failure", func(tb testing.TB) {
			var o out
			sdktest.Run(tb, plugin(), "upper", nil).Decode(&o)
		}, "no output to decode"},
		{"decode into a wrong type", func(tb testing.TB) {
			var n int
			sdktest.Run(tb, plugin(), "upper", args{Text: "x"}).Decode(&n)
		}, "decode output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fatalOf(t, tt.fn); !strings.Contains(got, tt.want) {
				t.Errorf("Fatalf %q, want it to contain %q", got, tt.want)
			}
		})
	}
	// A proper call does not fail.
	if got := fatalOf(t, func(tb testing.TB) { sdktest.Run(tb, plugin(), "upper", args{Text: "x"}) }); got != "" {
		t.Errorf("a proper call failed: %s", got)
	}
}

func TestConformanceOfAGoodPlugin(t *testing.T) {
	sdktest.Conformance(t, plugin(sdk.NewTask("raw", "Takes raw JSON", func(_ context.Context, _ *sdk.Job, in json.RawMessage) (json.RawMessage, error) {
		return in, nil
	})))
}
