package sdk

import (
	"context"

	"go.opentelemetry.io/otel/propagation"

	"github.com/batchhost/batchhost/proto/pluginpb"
)

// withTrace returns ctx carrying the host's span of the attempt as a
// remote parent, when the host sent one; a malformed trace context is
// ignored, as a tracer ignores a malformed traceparent header.
func withTrace(ctx context.Context, req *pluginpb.ExecuteRequest) context.Context {
	if req.GetTraceparent() == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, traceCarrier{req})
}

// traceCarrier reads the W3C headers from the request's fields.
type traceCarrier struct{ req *pluginpb.ExecuteRequest }

func (c traceCarrier) Get(key string) string {
	switch key {
	case "traceparent":
		return c.req.GetTraceparent()
	case "tracestate":
		return c.req.GetTracestate()
	}
	return ""
}

func (traceCarrier) Set(string, string) {}

func (traceCarrier) Keys() []string { return []string{"traceparent", "tracestate"} }
