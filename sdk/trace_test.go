package sdk_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/batchhost/batchhost/sdk"
	"github.com/batchhost/batchhost/sdk/sdktest"
)

// spanOut is what the test task saw of its contexts.
type spanOut struct {
	SameContext bool `json:"same_context"`
	Valid       bool `json:"valid"`
}

// TestJobContextCarriesTheHostsSpan: the span the host sends with an
// attempt is the remote parent in job.Context() (and in the task's ctx):
// a span the task starts from it joins the host's trace as its child.
func TestJobContextCarriesTheHostsSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	p := sdk.Plugin{Name: "traced", Version: "1", Tasks: []sdk.Task{
		sdk.NewTask("work", "Starts a span under its job", func(ctx context.Context, job *sdk.Job, _ struct{}) (spanOut, error) {
			_, span := tp.Tracer("test").Start(job.Context(), "work")
			span.End()
			same := trace.SpanContextFromContext(ctx).Equal(trace.SpanContextFromContext(job.Context()))
			return spanOut{SameContext: same, Valid: trace.SpanContextFromContext(job.Context()).IsValid()}, nil
		}),
	}}

	hostCtx, hostSpan := tp.Tracer("host").Start(context.Background(), "batchhost.attempt",
		trace.WithSpanKind(trace.SpanKindInternal))
	hostSpan.End()
	var out spanOut
	res := sdktest.Run(t, p, "work", nil, sdktest.WithContext(hostCtx))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	res.Decode(&out)
	if !out.SameContext || !out.Valid {
		t.Errorf("task saw %+v, want the host's span in both ctx and job.Context()", out)
	}
	var work sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "work" {
			work = s
		}
	}
	if work == nil {
		t.Fatalf("the task's span was not recorded; spans: %d", len(rec.Ended()))
	}
	host := hostSpan.SpanContext()
	if work.SpanContext().TraceID() != host.TraceID() || work.Parent().SpanID() != host.SpanID() || !work.Parent().IsRemote() {
		t.Errorf("task span trace %s parent %s (remote %v), want trace %s parent %s (remote)",
			work.SpanContext().TraceID(), work.Parent().SpanID(), work.Parent().IsRemote(), host.TraceID(), host.SpanID())
	}

	// Without a span from the host, the task's context has none.
	res = sdktest.Run(t, p, "work", nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	res.Decode(&out)
	if out.Valid {
		t.Errorf("untraced attempt: job.Context() carries a span context")
	}
}

// TestNilJobContext: a nil *Job, for calling a task directly, answers a
// usable context.
func TestNilJobContext(t *testing.T) {
	var j *sdk.Job
	if j.Context() == nil {
		t.Fatal("nil Job: Context() is nil")
	}
}
