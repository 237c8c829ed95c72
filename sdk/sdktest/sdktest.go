// Package sdktest runs plugin tasks through the real plugin protocol inside
// a test, so a plugin author can unit-test tasks without building binaries:
//
//	func TestAnalyze(t *testing.T) {
//		res := sdktest.Run(t, docs.Plugin(), "analyze", docs.AnalyzeArgs{Path: p})
//		if res.Err != nil {
//			t.Fatal(res.Err)
//		}
//		var out docs.AnalyzeResult
//		res.Decode(&out)
//		...
//	}
//
// Run plays the host: it encodes the args, starts the attempt on an attempt
// channel as the host does (a socket inside the test process), collects
// every event in order and the result, and can time the attempt out or
// cancel it. Conformance checks what every
// plugin must do.
//
// Unlike a plugin binary, sdktest recovers a panic in a task (in the task's
// goroutine) and reports it as kind "plugin_crashed", so a test can assert
// on it instead of dying. A panic in a goroutine the task started still
// kills the test binary. A task that ignores cancellation keeps its
// goroutine after Run returns (see Result.Abandoned); Go cannot stop it.
package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
	"github.com/batchhost/batchhost/sdk"
)

// errTimedOut is the cancel cause of a call that reached WithTimeout.
var errTimedOut = errors.New("sdktest: timeout")

// Result is what one attempt produced.
type Result struct {
	// Output is the task's JSON result; nil when Err is set.
	Output json.RawMessage
	// Err is nil on success.
	Err *Error
	// Events are the progress, log and heartbeat events, in the order
	// they arrived.
	Events []Event
	// Abandoned is true when the call was cancelled (timeout or context)
	// and the task had not returned within the grace period: it ignores
	// cancellation, and the host would kill its process.
	Abandoned bool

	t testing.TB
}

// Run runs one attempt of the named task of p with args and returns what it
// produced; it fails the test only for a misuse of sdktest or a protocol
// violation by the SDK, never because the task failed (see Result.Err).
//
// args is encoded with encoding/json; a json.RawMessage is sent as is
// (even if it is not valid JSON, to test bad input) and nil sends no args.
func Run(t testing.TB, p sdk.Plugin, task string, args any, opts ...Option) *Result {
	t.Helper()
	cfg := newConfig(opts)
	if cfg.err != nil {
		t.Fatalf("sdktest: %v", cfg.err)
	}
	raw, err := encodeArgs(args)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	c := connect(t, p)
	defer c.close()
	return run(t, c, cfg, task, raw)
}

func encodeArgs(args any) ([]byte, error) {
	switch a := args.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return a, nil
	}
	b, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("encode args: %w", err)
	}
	return b, nil
}

func run(t testing.TB, c *conn, cfg config, task string, args []byte) *Result {
	t.Helper()
	// A timeout cancels the attempt rather than setting a deadline, as the
	// host does (its timeout clock stops while a job is paused, which a
	// deadline cannot).
	ctx, cancel := context.WithCancelCause(cfg.ctx)
	defer cancel(nil)
	req := &pluginpb.ExecuteRequest{
		JobId:               cfg.jobID,
		Attempt:             int32(cfg.attempt),
		MaxAttempts:         int32(cfg.maxAttempts),
		Task:                task,
		Args:                args,
		HeartbeatIntervalMs: cfg.heartbeat.Milliseconds(),
	}
	// The test's span, if any, goes as the host's span of the attempt.
	propagation.TraceContext{}.Inject(cfg.ctx, requestCarrier{req})
	if cfg.timeout > 0 {
		req.DeadlineUnixNano = time.Now().Add(cfg.timeout).UnixNano()
		timer := time.AfterFunc(cfg.timeout, func() { cancel(errTimedOut) })
		defer timer.Stop()
	}
	res := &Result{t: t}
	if ctx.Err() != nil {
		// The host does not start an attempt it has already cancelled.
		res.Err = cancelled(ctx, cfg)
		return res
	}

	ch := c.attempts(t)
	defer ch.close()
	const seq = 1 // the channel's first attempt
	if err := ch.conn.Write(pluginrpc.StartFrame(seq, req)); err != nil {
		t.Fatalf("sdktest: start the attempt: %v", err)
	}
	// The cancel travels as the host's does; after it, the task has the
	// grace period to return before it counts as abandoned (the host would
	// kill the process).
	var graceOver atomic.Bool
	grace := time.AfterFunc(cfg.grace, func() {
		graceOver.Store(true)
		ch.close()
	})
	grace.Stop() // armed by the cancel
	defer grace.Stop()
	stop := context.AfterFunc(ctx, func() {
		_ = pluginrpc.WriteCancel(ch.lifeline, seq)
		grace.Reset(cfg.grace)
	})
	defer stop()
	for {
		ev := &pluginpb.ExecuteEvent{}
		if err := ch.conn.Read(ev); err != nil {
			switch {
			case graceOver.Load():
				res.Output, res.Err, res.Abandoned = nil, cancelled(ctx, cfg), true
				t.Logf("sdktest: task %q still running %v after its attempt was cancelled; it ignores its ctx (the host would kill the plugin process)", task, cfg.grace)
			default:
				t.Errorf("sdktest: protocol violation: the attempt channel broke before the result: %v", err)
				res.Err = &Error{Kind: "plugin_crashed", Message: fmt.Sprintf("the attempt channel broke: %v", err), Retryable: true}
			}
			return res
		}
		switch e := ev.GetEvent().(type) {
		case *pluginpb.ExecuteEvent_Progress:
			res.Events = append(res.Events, Progress{Fraction: e.Progress.GetFraction(), Message: e.Progress.GetMessage()})
		case *pluginpb.ExecuteEvent_Log:
			res.Events = append(res.Events, toLog(t, e.Log))
		case *pluginpb.ExecuteEvent_Heartbeat:
			res.Events = append(res.Events, Heartbeat{})
		case *pluginpb.ExecuteEvent_Result:
			res.setResult(e.Result)
			if res.Err != nil && ctx.Err() != nil {
				// The task saw the cancel and returned its error: the host
				// records its own kind, not the task's.
				res.Err = cancelled(ctx, cfg)
			}
			return res
		default:
			t.Errorf("sdktest: protocol violation: an empty event")
		}
	}
}

// cancelled is the error the host records for an attempt it cancelled:
// timeout for a deadline, canceled for a cancel.
func cancelled(ctx context.Context, cfg config) *Error {
	if context.Cause(ctx) == errTimedOut || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		msg := "the attempt's context deadline passed"
		if cfg.timeout > 0 {
			msg = fmt.Sprintf("the attempt did not finish within %v", cfg.timeout)
		}
		return &Error{Kind: "timeout", Message: msg, Retryable: true}
	}
	return &Error{Kind: "canceled", Message: "the attempt was canceled"}
}

func (r *Result) setResult(res *pluginpb.Result) {
	switch o := res.GetOutcome().(type) {
	case *pluginpb.Result_Output:
		r.Output = json.RawMessage(o.Output)
		if !json.Valid(o.Output) {
			r.t.Errorf("sdktest: protocol violation: the output is not valid JSON: %q", o.Output)
		}
	case *pluginpb.Result_Error:
		r.Err = &Error{
			Kind:       kindName(o.Error.GetKind()),
			Message:    o.Error.GetMessage(),
			Retryable:  o.Error.GetRetryable(),
			RetryAfter: time.Duration(o.Error.GetRetryAfterMs()) * time.Millisecond,
		}
	default:
		r.t.Errorf("sdktest: protocol violation: a result with neither output nor error")
	}
}

func toLog(t testing.TB, l *pluginpb.LogRecord) Log {
	t.Helper()
	out := Log{Level: levelName(l.GetLevel()), Message: l.GetMessage(), Time: time.Unix(0, l.GetTimeUnixNano())}
	if err := json.Unmarshal(l.GetFieldsJson(), &out.Fields); err != nil {
		t.Errorf("sdktest: protocol violation: log fields are not a JSON object: %v", err)
	}
	return out
}

// Decode decodes the output into v, failing the test if the task failed or
// the output does not decode.
func (r *Result) Decode(v any) {
	r.t.Helper()
	if r.Err != nil {
		r.t.Fatalf("sdktest: the task failed, there is no output to decode: %v", r.Err)
	}
	if err := json.Unmarshal(r.Output, v); err != nil {
		r.t.Fatalf("sdktest: decode output %s: %v", r.Output, err)
	}
}

// Progress returns the progress reports, in order.
func (r *Result) Progress() []Progress {
	var out []Progress
	for _, ev := range r.Events {
		if p, ok := ev.(Progress); ok {
			out = append(out, p)
		}
	}
	return out
}

// Logs returns the log records, in order.
func (r *Result) Logs() []Log {
	var out []Log
	for _, ev := range r.Events {
		if l, ok := ev.(Log); ok {
			out = append(out, l)
		}
	}
	return out
}

// Heartbeats returns how many heartbeats arrived.
func (r *Result) Heartbeats() int {
	n := 0
	for _, ev := range r.Events {
		if _, ok := ev.(Heartbeat); ok {
			n++
		}
	}
	return n
}

// requestCarrier writes the W3C trace headers into the request's fields.
type requestCarrier struct{ req *pluginpb.ExecuteRequest }

func (c requestCarrier) Get(key string) string {
	switch key {
	case "traceparent":
		return c.req.GetTraceparent()
	case "tracestate":
		return c.req.GetTracestate()
	}
	return ""
}

func (c requestCarrier) Set(key, value string) {
	switch key {
	case "traceparent":
		c.req.Traceparent = value
	case "tracestate":
		c.req.Tracestate = value
	}
}

func (requestCarrier) Keys() []string { return []string{"traceparent", "tracestate"} }
