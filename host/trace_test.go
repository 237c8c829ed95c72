package host_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/internal/testbin"
)

// tracePkg is a plugin that starts a span from job.Context() with a
// TracerProvider of its own and reports that span's ids in its result.
const tracePkg = "github.com/batchhost/batchhost/host/internal/runner/testdata/traceplugin"

var (
	traceDirOnce sync.Once
	traceDir     string
	traceDirErr  error
)

// tracePluginDir is a plugin directory with the trace plugin, built once.
func tracePluginDir(t *testing.T) string {
	t.Helper()
	traceDirOnce.Do(func() {
		traceDir, traceDirErr = testbin.PluginDir(filepath.Dir(pluginDir), map[string]string{"traced": tracePkg})
	})
	if traceDirErr != nil {
		t.Fatal(traceDirErr)
	}
	return traceDir
}

// pluginSpan is the trace plugin's result: the span it made.
type pluginSpan struct {
	TraceID      string `json:"trace_id"`
	SpanID       string `json:"span_id"`
	ParentSpanID string `json:"parent_span_id"`
	ParentRemote bool   `json:"parent_remote"`
	Attempt      int    `json:"attempt"`
}

// openTracedHost opens a host with the trace plugin whose spans go to an
// in-memory recorder.
func openTracedHost(t *testing.T) (*host.Host, *tracetest.SpanRecorder, trace.Tracer) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	dir := tracePluginDir(t)
	h, _ := openHost(t, func(c *host.Config) {
		c.PluginDir = dir
		c.TracerProvider = tp
	})
	return h, rec, tp.Tracer("test")
}

func spansNamed(rec *tracetest.SpanRecorder, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// TestTraceSubmitAttemptsAndPluginSpanShareOneTrace: a job submitted under
// the caller's span gets a submit span (child of the caller's), one
// attempt span per attempt (children of the submit span, with task, job,
// attempt, outcome and error kind), and the span the plugin starts from
// job.Context() in its own process is a child of its attempt's span.
func TestTraceSubmitAttemptsAndPluginSpanShareOneTrace(t *testing.T) {
	h, rec, tracer := openTracedHost(t)
	ctx, caller := tracer.Start(ctxT(t), "caller")
	id, err := h.Submit(ctx, host.JobSpec{Task: "traced.span", Args: map[string]int{"fail": 1}, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	caller.End()
	if j := wait(t, h, id); j.State != host.StateCompleted {
		t.Fatalf("job %s, want completed: %+v", j.State, j.Error)
	}
	var got pluginSpan
	if err := h.Result(ctxT(t), id, &got); err != nil {
		t.Fatal(err)
	}

	traceID := caller.SpanContext().TraceID()
	var sub sdktrace.ReadOnlySpan
	for _, s := range spansNamed(rec, "batchhost.submit") {
		if s.SpanContext().TraceID() == traceID {
			if sub != nil {
				t.Fatalf("two submit spans in the caller's trace")
			}
			sub = s
		}
	}
	if sub == nil {
		t.Fatalf("no batchhost.submit span in the caller's trace %s", traceID)
	}
	if sub.Parent().SpanID() != caller.SpanContext().SpanID() {
		t.Errorf("submit span's parent %s, want the caller's span %s", sub.Parent().SpanID(), caller.SpanContext().SpanID())
	}
	if a := attrs(sub); a["batchhost.job.id"].AsString() != id || a["batchhost.task"].AsString() != "traced.span" || a["batchhost.job.count"].AsInt64() != 1 {
		t.Errorf("submit span attributes %v, want job %s, task traced.span, count 1", sub.Attributes(), id)
	}

	var attempts []sdktrace.ReadOnlySpan
	for _, s := range spansNamed(rec, "batchhost.attempt") {
		if attrs(s)["batchhost.job.id"].AsString() == id {
			attempts = append(attempts, s)
		}
	}
	if len(attempts) != 2 {
		t.Fatalf("%d attempt spans for job %s, want 2 (a failed attempt and its retry)", len(attempts), id)
	}
	want := []struct {
		outcome, kind string
		status        codes.Code
	}{{"retry", "task_error", codes.Error}, {"completed", "", codes.Unset}}
	for i, s := range attempts {
		a := attrs(s)
		if s.SpanContext().TraceID() != traceID {
			t.Errorf("attempt %d span in trace %s, want the caller's %s", i+1, s.SpanContext().TraceID(), traceID)
		}
		if s.Parent().SpanID() != sub.SpanContext().SpanID() {
			t.Errorf("attempt %d span's parent %s, want the submit span %s", i+1, s.Parent().SpanID(), sub.SpanContext().SpanID())
		}
		if a["batchhost.attempt"].AsInt64() != int64(i+1) || a["batchhost.task"].AsString() != "traced.span" ||
			a["batchhost.outcome"].AsString() != want[i].outcome || a["batchhost.error.kind"].AsString() != want[i].kind ||
			s.Status().Code != want[i].status {
			t.Errorf("attempt span %d: attributes %v status %v, want attempt %d, outcome %s, kind %q, status %v",
				i+1, s.Attributes(), s.Status(), i+1, want[i].outcome, want[i].kind, want[i].status)
		}
	}

	// The plugin's span, made in the plugin's process.
	last := attempts[1].SpanContext()
	if got.TraceID != traceID.String() || got.ParentSpanID != last.SpanID().String() || !got.ParentRemote ||
		got.SpanID == last.SpanID().String() || got.Attempt != 2 {
		t.Errorf("plugin span %+v, want a new span in trace %s whose remote parent is attempt 2's span %s",
			got, traceID, last.SpanID())
	}
}

// TestTraceSubmitManyIsOneSpan: one SubmitMany call is one submit span
// counting its jobs, and every job's attempts are its children.
func TestTraceSubmitManyIsOneSpan(t *testing.T) {
	h, rec, _ := openTracedHost(t)
	ids, err := h.SubmitMany(ctxT(t), []host.JobSpec{{Task: "traced.span"}, {Task: "traced.span"}, {Task: "traced.span"}})
	if err != nil {
		t.Fatal(err)
	}
	var sub sdktrace.ReadOnlySpan
	for _, s := range spansNamed(rec, "batchhost.submit") {
		if attrs(s)["batchhost.job.count"].AsInt64() == 3 {
			sub = s
		}
	}
	if sub == nil {
		t.Fatalf("no batchhost.submit span with job count 3")
	}
	if sub.Parent().IsValid() {
		t.Errorf("submit span without a caller's span has parent %s, want a root", sub.Parent().SpanID())
	}
	for _, id := range ids {
		wait(t, h, id)
		var got pluginSpan
		if err := h.Result(ctxT(t), id, &got); err != nil {
			t.Fatal(err)
		}
		if got.TraceID != sub.SpanContext().TraceID().String() {
			t.Errorf("job %s: plugin span in trace %s, want the submit span's %s", id, got.TraceID, sub.SpanContext().TraceID())
		}
	}
	n := 0
	for _, s := range spansNamed(rec, "batchhost.attempt") {
		if s.Parent().SpanID() == sub.SpanContext().SpanID() {
			n++
		}
	}
	if n != len(ids) {
		t.Errorf("%d attempt spans under the submit span, want %d", n, len(ids))
	}
}

// TestTraceOffByDefault: with no TracerProvider and none installed
// globally, the plugin's job.Context() carries no span: its span is a
// root of a trace of its own.
func TestTraceOffByDefault(t *testing.T) {
	dir := tracePluginDir(t)
	h, _ := openHost(t, func(c *host.Config) { c.PluginDir = dir })
	id := submit(t, h, host.JobSpec{Task: "traced.span"})
	wait(t, h, id)
	var got pluginSpan
	if err := h.Result(ctxT(t), id, &got); err != nil {
		t.Fatal(err)
	}
	if got.ParentSpanID != "" || got.TraceID == "" {
		t.Errorf("untraced job: plugin span %+v, want a root span", got)
	}
}
