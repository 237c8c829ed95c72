package model

// The W3C trace context headers a TraceContext holds.
const (
	TraceParentHeader = "traceparent"
	TraceStateHeader  = "tracestate"
)

// Get answers a header's value, so that a *TraceContext is a carrier for
// a W3C trace context propagator.
func (t *TraceContext) Get(key string) string {
	switch key {
	case TraceParentHeader:
		return t.Parent
	case TraceStateHeader:
		return t.State
	}
	return ""
}

// Set sets a header's value; other headers are dropped.
func (t *TraceContext) Set(key, value string) {
	switch key {
	case TraceParentHeader:
		t.Parent = value
	case TraceStateHeader:
		t.State = value
	}
}

// Keys lists the headers a TraceContext holds.
func (t *TraceContext) Keys() []string {
	return []string{TraceParentHeader, TraceStateHeader}
}
