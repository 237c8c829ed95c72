package host

import (
	"context"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/batchhost/batchhost/host/internal/engine"
	"github.com/batchhost/batchhost/host/internal/model"
)

// tracerName is the instrumentation scope of the host's spans.
const tracerName = "github.com/batchhost/batchhost/host"

// Span names of the host's job creating calls; attempts' spans are the
// engine's (batchhost.attempt).
const (
	submitSpan = "batchhost.submit"
	createSpan = "batchhost.create"
)

var producerSpan = trace.WithSpanKind(trace.SpanKindProducer)

// startCreateSpan starts the span of a Submit, SubmitMany or Create call,
// a child of ctx's span, and answers the trace context every job of the
// call keeps: one span per call, however many jobs, as the call is one
// durable insert (a SubmitMany of thousands makes one span, not
// thousands). With tracing off and no span in ctx the context is empty,
// and nothing is stored.
func (h *Host) startCreateSpan(ctx context.Context, specs []JobSpec, submit bool) (context.Context, trace.Span, model.TraceContext) {
	name := createSpan
	if submit {
		name = submitSpan
	}
	ctx, span := h.tracer.Start(ctx, name, producerSpan)
	if span.IsRecording() { // off, nothing is allocated for attributes
		span.SetAttributes(engine.AttrJobCount.Int(len(specs)))
		if len(specs) == 1 {
			span.SetAttributes(engine.AttrTask.String(specs[0].Task))
		}
	}
	var tc model.TraceContext
	if span.SpanContext().IsValid() {
		propagation.TraceContext{}.Inject(ctx, &tc)
	}
	return ctx, span, tc
}

// endCreateSpan ends a create call's span with the job's id (one job) or
// the call's error.
func endCreateSpan(span trace.Span, ids []string, err error) {
	if !span.IsRecording() {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	} else if len(ids) == 1 {
		span.SetAttributes(engine.AttrJobID.String(ids[0]))
	}
	span.End()
}
