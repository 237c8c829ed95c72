// A plugin that traces its task as a plugin author would: it installs a
// TracerProvider of its own and starts a span from job.Context(). The
// task reports that span's trace and parent, so that a test in the host's
// process can check that it joined the job's trace. Args {"fail": n} fail
// the first n attempts.
package main

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/batchhost/batchhost/sdk"
)

type args struct {
	Fail int `json:"fail"`
}

// span is what the task saw of the span it made.
type span struct {
	TraceID      string `json:"trace_id"`
	SpanID       string `json:"span_id"`
	ParentSpanID string `json:"parent_span_id,omitempty"`
	ParentRemote bool   `json:"parent_remote"`
	Attempt      int    `json:"attempt"`
}

func work(_ context.Context, job *sdk.Job, in args) (span, error) {
	_, s := otel.Tracer("traceplugin").Start(job.Context(), "traceplugin.work")
	defer s.End()
	if job.Attempt() <= in.Fail {
		return span{}, fmt.Errorf("attempt %d fails as asked", job.Attempt())
	}
	ro, ok := s.(sdktrace.ReadOnlySpan)
	if !ok {
		return span{}, sdk.Permanent(fmt.Errorf("the span is a %T, not the SDK's: no provider installed", s))
	}
	out := span{TraceID: ro.SpanContext().TraceID().String(), SpanID: ro.SpanContext().SpanID().String(),
		ParentRemote: ro.Parent().IsRemote(), Attempt: job.Attempt()}
	if ro.Parent().IsValid() {
		out.ParentSpanID = ro.Parent().SpanID().String()
	}
	return out, nil
}

func main() {
	// No exporter: the spans are only made, as a plugin's would be before
	// they go to its exporter.
	tp := sdktrace.NewTracerProvider()
	otel.SetTracerProvider(tp)
	defer tp.Shutdown(context.Background())
	sdk.Serve(sdk.Plugin{Name: "traced", Version: "0.0.1", Tasks: []sdk.Task{
		sdk.NewTask("span", "Starts a span from job.Context() and reports it", work),
	}})
}
