package engine

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/batchhost/batchhost/host/internal/model"
)

// Span attribute keys of the host's spans.
const (
	AttrTask      = attribute.Key("batchhost.task")
	AttrJobID     = attribute.Key("batchhost.job.id")
	AttrJobCount  = attribute.Key("batchhost.job.count")
	AttrAttempt   = attribute.Key("batchhost.attempt")
	AttrOutcome   = attribute.Key("batchhost.outcome")
	AttrErrorKind = attribute.Key("batchhost.error.kind")
)

// AttemptSpan is the name of an attempt's span.
const AttemptSpan = "batchhost.attempt"

var consumerSpan = trace.WithSpanKind(trace.SpanKindConsumer)

// maxStatusMessage bounds the error message put on a span's status.
const maxStatusMessage = 1 << 10

// startAttemptSpan starts the span of j's attempt, as a child of the
// trace context stored with j (a root when there is none), and answers
// the span's own trace context, for the plugin. With tracing off (a no-op
// tracer) and no stored context, the answer is empty.
func (e *Engine) startAttemptSpan(j *model.Job) (trace.Span, model.TraceContext) {
	ctx := context.Background()
	if j.Trace.Parent != "" {
		ctx = propagation.TraceContext{}.Extract(ctx, &j.Trace)
	}
	ctx, span := e.tracer.Start(ctx, AttemptSpan, consumerSpan)
	if span.IsRecording() { // off, nothing is allocated for attributes
		span.SetAttributes(AttrTask.String(j.Task), AttrJobID.String(j.ID), AttrAttempt.Int(j.Attempt))
	}
	var tc model.TraceContext
	if span.SpanContext().IsValid() {
		propagation.TraceContext{}.Inject(ctx, &tc)
	}
	return span, tc
}

// endAttemptSpan ends an attempt's span with what its outcome means for
// its job: completed, retry, failed or canceled, and the error's kind.
func endAttemptSpan(span trace.Span, state model.State, jerr *model.JobError, at time.Time) {
	outcome := string(state)
	if state == model.Queued {
		outcome = "retry"
	}
	span.SetAttributes(AttrOutcome.String(outcome))
	if jerr != nil {
		span.SetAttributes(AttrErrorKind.String(string(jerr.Kind)))
		msg := jerr.Message
		if len(msg) > maxStatusMessage {
			msg = strings.ToValidUTF8(msg[:maxStatusMessage], "")
		}
		span.SetStatus(codes.Error, msg)
	}
	if at.IsZero() {
		span.End()
		return
	}
	span.End(trace.WithTimestamp(at))
}
