package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/sdk"
	"github.com/batchhost/batchhost/sdk/sdktest"
)

// one wraps a single task in a plugin.
func one(t sdk.Task) sdk.Plugin {
	return sdk.Plugin{Name: "test", Version: "0.0.1", Tasks: []sdk.Task{t}}
}

func TestUnknownTask(t *testing.T) {
	p := sdk.Plugin{Name: "test", Version: "1", Tasks: []sdk.Task{
		sdk.NewTask("b", "B", func(context.Context, *sdk.Job, struct{}) (struct{}, error) { return struct{}{}, nil }),
		sdk.NewTask("a", "A", func(context.Context, *sdk.Job, struct{}) (struct{}, error) { return struct{}{}, nil }),
	}}
	res := sdktest.Run(t, p, "nope", nil)
	if res.Err == nil || res.Err.Kind != "unknown_task" || res.Err.Retryable {
		t.Fatalf("err = %+v, want unknown_task, not retryable", res.Err)
	}
	if want := `unknown task "nope": plugin "test" offers a, b`; res.Err.Message != want {
		t.Errorf("message %q, want %q", res.Err.Message, want)
	}
}

func TestJobFields(t *testing.T) {
	type seen struct {
		ID          string
		Attempt     int
		MaxAttempts int
		HasDeadline bool
		DeadlineIn  time.Duration
	}
	task := sdk.NewTask("job", "reports its job", func(_ context.Context, job *sdk.Job, _ struct{}) (seen, error) {
		d, ok := job.Deadline()
		return seen{ID: job.ID(), Attempt: job.Attempt(), MaxAttempts: job.MaxAttempts(), HasDeadline: ok, DeadlineIn: time.Until(d).Round(time.Hour)}, nil
	})
	var got seen
	sdktest.Run(t, one(task), "job", nil, sdktest.WithJobID("j-42"), sdktest.WithAttempt(2), sdktest.WithMaxAttempts(5)).Decode(&got)
	if diff := cmp.Diff(seen{ID: "j-42", Attempt: 2, MaxAttempts: 5}, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".DeadlineIn" }, cmp.Ignore())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	sdktest.Run(t, one(task), "job", nil, sdktest.WithTimeout(time.Hour)).Decode(&got)
	if !got.HasDeadline || got.DeadlineIn != time.Hour {
		t.Errorf("with a 1h timeout the task saw deadline %v in %v", got.HasDeadline, got.DeadlineIn)
	}
}

func TestNilJobIsUsable(t *testing.T) {
	var j *sdk.Job
	j.Progress(0.5, "x")
	j.Log().Info("dropped", "k", 1)
	if j.ID() != "" || j.Attempt() != 0 || j.MaxAttempts() != 0 {
		t.Error("a nil job reports values")
	}
	if _, ok := j.Deadline(); ok {
		t.Error("a nil job has a deadline")
	}
}

func TestProgressClampsAndDropsNaN(t *testing.T) {
	task := sdk.NewTask("p", "progress", func(_ context.Context, job *sdk.Job, _ struct{}) (struct{}, error) {
		for _, f := range []float64{-1, 0, 0.5, 2, math.NaN(), math.Inf(1), math.Inf(-1)} {
			job.Progress(f, fmt.Sprint(f))
		}
		job.Progress(1, strings.Repeat("x", 10_000))
		return struct{}{}, nil
	})
	res := sdktest.Run(t, one(task), "p", nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	got := res.Progress()
	want := []sdktest.Progress{
		{Fraction: 0, Message: "-1"}, {Fraction: 0, Message: "0"}, {Fraction: 0.5, Message: "0.5"},
		{Fraction: 1, Message: "2"}, {Fraction: 1, Message: "+Inf"}, {Fraction: 0, Message: "-Inf"},
	}
	if len(got) != len(want)+1 {
		t.Fatalf("got %d reports, want %d: %+v", len(got), len(want)+1, got)
	}
	if diff := cmp.Diff(want, got[:len(want)]); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if last := got[len(want)].Message; len(last) > 4<<10 || !strings.HasSuffix(last, "(truncated)") {
		t.Errorf("a 10,000-byte message arrived as %d bytes", len(last))
	}
}

// TestConcurrentEvents: Progress and Log from many goroutines must not
// race on the stream, all must arrive, and each goroutine's own events keep
// their order.
func TestConcurrentEvents(t *testing.T) {
	const workers, each = 8, 50
	task := sdk.NewTask("c", "concurrent", func(_ context.Context, job *sdk.Job, _ struct{}) (struct{}, error) {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					if i%2 == 0 {
						job.Progress(float64(i)/each, fmt.Sprintf("%d/%d", w, i))
					} else {
						job.Log().Info("tick", "w", w, "i", i)
					}
				}
			})
		}
		wg.Wait()
		return struct{}{}, nil
	})
	res := sdktest.Run(t, one(task), "c", nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	next := make([]int, workers) // the i each worker's next event must have
	for _, ev := range res.Events {
		var w, i int
		switch ev := ev.(type) {
		case sdktest.Progress:
			fmt.Sscanf(ev.Message, "%d/%d", &w, &i)
		case sdktest.Log:
			w, i = int(ev.Fields["w"].(float64)), int(ev.Fields["i"].(float64))
		default:
			continue
		}
		if i != next[w] {
			t.Fatalf("worker %d: event %d arrived when %d was due", w, i, next[w])
		}
		next[w]++
	}
	for w, n := range next {
		if n != each {
			t.Errorf("worker %d: %d events arrived, want %d", w, n, each)
		}
	}
}

// TestEventsAfterReturnAreDropped: a goroutine the task leaves behind must
// not write to the finished stream (it would race the handler's return).
func TestEventsAfterReturnAreDropped(t *testing.T) {
	release, stray := make(chan struct{}), make(chan struct{})
	task := sdk.NewTask("leak", "leaves a goroutine", func(_ context.Context, job *sdk.Job, _ struct{}) (struct{}, error) {
		go func() {
			defer close(stray)
			<-release
			for range 100 {
				job.Progress(0.5, "late")
				job.Log().Info("late")
			}
		}()
		return struct{}{}, nil
	})
	res := sdktest.Run(t, one(task), "leak", nil)
	close(release)
	<-stray
	if res.Err != nil || len(res.Progress()) != 0 || len(res.Logs()) != 0 {
		t.Errorf("result %+v", res)
	}
}

func TestHeartbeats(t *testing.T) {
	task := sdk.NewTask("wait", "waits for heartbeats", func(ctx context.Context, _ *sdk.Job, in struct{ MS int }) (struct{}, error) {
		select {
		case <-time.After(time.Duration(in.MS) * time.Millisecond):
		case <-ctx.Done():
			return struct{}{}, ctx.Err()
		}
		return struct{}{}, nil
	})
	res := sdktest.Run(t, one(task), "wait", map[string]int{"MS": 300}, sdktest.WithHeartbeat(20*time.Millisecond))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	// 300 ms at one beat per 20 ms is 15 beats; a loaded machine may
	// deliver fewer, but more than 30 would mean the interval is ignored.
	if n := res.Heartbeats(); n < 2 || n > 30 {
		t.Errorf("%d heartbeats in 300ms at a 20ms interval", n)
	}
	// A fast task with the default 1 s interval sends none.
	res = sdktest.Run(t, one(task), "wait", nil)
	if n := res.Heartbeats(); n != 0 {
		t.Errorf("%d heartbeats from an instant task at the default interval", n)
	}
}

func TestTaskErrorsOnTheWire(t *testing.T) {
	errBase := errors.New("nope")
	tests := []struct {
		err  error
		want sdktest.Error
	}{
		{errBase, sdktest.Error{Kind: "task_error", Message: "nope", Retryable: true}},
		{sdk.Permanent(errBase), sdktest.Error{Kind: "permanent", Message: "nope"}},
		{sdk.InvalidArgs(errBase), sdktest.Error{Kind: "invalid_args", Message: "nope"}},
		{sdk.UnsupportedFormat(errBase), sdktest.Error{Kind: "unsupported_format", Message: "nope"}},
		{sdk.RetryAfter(errBase, 2*time.Second), sdktest.Error{Kind: "task_error", Message: "nope", Retryable: true, RetryAfter: 2 * time.Second}},
	}
	for _, tt := range tests {
		task := sdk.NewTask("e", "errs", func(context.Context, *sdk.Job, struct{}) (struct{}, error) { return struct{}{}, tt.err })
		res := sdktest.Run(t, one(task), "e", nil)
		if res.Err == nil {
			t.Fatalf("%v: no error", tt.err)
		}
		if diff := cmp.Diff(tt.want, *res.Err); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.want.Kind, diff)
		}
	}
}

func TestTaskCtxIsCancelled(t *testing.T) {
	started := make(chan struct{})
	task := sdk.NewTask("block", "blocks until cancelled", func(ctx context.Context, _ *sdk.Job, _ struct{}) (struct{}, error) {
		close(started)
		<-ctx.Done()
		return struct{}{}, ctx.Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	res := sdktest.Run(t, one(task), "block", nil, sdktest.WithContext(ctx))
	if res.Err == nil || res.Err.Kind != "canceled" || res.Abandoned {
		t.Fatalf("result %+v, want canceled and not abandoned", res)
	}
}

func TestPanicRecoveredOnlyBySdktest(t *testing.T) {
	task := sdk.NewTask("boom", "panics", func(context.Context, *sdk.Job, struct{}) (struct{}, error) { panic("kaboom") })
	res := sdktest.Run(t, one(task), "boom", nil)
	if res.Err == nil || res.Err.Kind != "plugin_crashed" || !res.Err.Retryable {
		t.Fatalf("err = %+v, want plugin_crashed, retryable", res.Err)
	}
	if !strings.Contains(res.Err.Message, "panic: kaboom") || !strings.Contains(res.Err.Message, "goroutine") {
		t.Errorf("message lacks the panic value and stack: %q", res.Err.Message)
	}
	// That a plugin binary does NOT recover is tested in serve_test.go.
}

func TestRawEchoAndEmptyArgs(t *testing.T) {
	echo := sdk.NewTask("echo", "echo", func(_ context.Context, _ *sdk.Job, in json.RawMessage) (json.RawMessage, error) { return in, nil })
	for args, want := range map[string]string{``: `null`, `null`: `null`, ` [1, 2] `: `[1, 2]`} {
		res := sdktest.Run(t, one(echo), "echo", json.RawMessage(args))
		if res.Err != nil || string(res.Output) != want {
			t.Errorf("echo %q = %s, %v; want %s", args, res.Output, res.Err, want)
		}
	}
}
