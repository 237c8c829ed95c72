package sdk

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/batchhost/batchhost/proto/pluginpb"
)

// Limits on one log record, so that a runaway log call cannot exceed the
// protocol's message limit and break the attempt channel.
const (
	maxLogMessage = 64 << 10
	maxLogFields  = 256 << 10
)

// logHandler is the slog.Handler behind Job.Log: each record becomes a
// LogRecord event on the attempt channel. Attributes become a JSON object
// (groups nest); values that JSON cannot carry (NaN, channels, funcs) are
// written as text rather than failing the record.
type logHandler struct {
	events *sender
	// scopes are the WithGroup and WithAttrs calls, in order.
	scopes []scope
}

type scope struct {
	group string      // a WithGroup call, or
	attrs []slog.Attr // a WithAttrs call
}

func newLogHandler(events *sender) *logHandler { return &logHandler{events: events} }

// Enabled is true for every level: filtering is the host's business, and a
// record costs nothing until it is handled.
func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.with(scope{attrs: attrs})
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(scope{group: name})
}

func (h *logHandler) with(s scope) *logHandler {
	scopes := make([]scope, len(h.scopes), len(h.scopes)+1)
	copy(scopes, h.scopes)
	return &logHandler{events: h.events, scopes: append(scopes, s)}
}

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	fields := h.fields(r)
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	h.events.send(&pluginpb.ExecuteEvent{Event: &pluginpb.ExecuteEvent_Log{Log: &pluginpb.LogRecord{
		Level:        wireLevel(r.Level),
		Message:      truncate(r.Message, maxLogMessage),
		FieldsJson:   fields,
		TimeUnixNano: t.UnixNano(),
	}}})
	return nil
}

// fields builds the record's JSON object: the handler's scopes, then the
// record's own attributes inside the innermost group. Groups left empty are
// dropped, as slog's own handlers do.
func (h *logHandler) fields(r slog.Record) []byte {
	root := map[string]any{}
	cur := root
	for _, s := range h.scopes {
		if s.group != "" {
			next := map[string]any{}
			cur[s.group] = next
			cur = next
			continue
		}
		addAttrs(cur, s.attrs)
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttrs(cur, []slog.Attr{a})
		return true
	})
	pruneEmpty(root)
	b, err := json.Marshal(root)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"fields_error": err.Error()})
	}
	if len(b) > maxLogFields {
		b, _ = json.Marshal(map[string]any{"fields_truncated_bytes": len(b)})
	}
	return b
}

func addAttrs(m map[string]any, attrs []slog.Attr) {
	for _, a := range attrs {
		v := a.Value.Resolve()
		if a.Key == "" && v.Kind() != slog.KindGroup {
			continue // slog: an attr with an empty key is ignored
		}
		if v.Kind() == slog.KindGroup {
			if a.Key == "" { // an inline group
				addAttrs(m, v.Group())
				continue
			}
			sub, ok := m[a.Key].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[a.Key] = sub
			}
			addAttrs(sub, v.Group())
			continue
		}
		m[a.Key] = jsonValue(v)
	}
}

func pruneEmpty(m map[string]any) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			pruneEmpty(sub)
			if len(sub) == 0 {
				delete(m, k)
			}
		}
	}
}

// jsonValue converts a resolved, non-group slog value to something
// json.Marshal encodes without error. A value whose Error, MarshalJSON or
// String method panics is written as the panic, as slog's handlers do,
// rather than crashing the plugin over a log line.
func jsonValue(v slog.Value) (out any) {
	defer func() {
		if r := recover(); r != nil {
			out = fmt.Sprintf("!PANIC: %v", r)
		}
	}()
	switch v.Kind() {
	case slog.KindString:
		return v.String()
	case slog.KindInt64:
		return v.Int64()
	case slog.KindUint64:
		return v.Uint64()
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Sprint(f)
		}
		return f
	case slog.KindBool:
		return v.Bool()
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	}
	a := v.Any()
	switch x := a.(type) {
	case nil:
		return nil
	case error:
		return x.Error()
	case json.Marshaler:
		if b, err := x.MarshalJSON(); err == nil && json.Valid(b) {
			return json.RawMessage(b)
		}
	case encoding.TextMarshaler:
		if b, err := x.MarshalText(); err == nil {
			return string(b)
		}
	}
	if b, err := json.Marshal(a); err == nil {
		return json.RawMessage(b)
	}
	return fmt.Sprintf("%+v", a)
}

func wireLevel(l slog.Level) pluginpb.LogLevel {
	switch {
	case l < slog.LevelDebug:
		return pluginpb.LogLevel_LOG_LEVEL_TRACE
	case l < slog.LevelInfo:
		return pluginpb.LogLevel_LOG_LEVEL_DEBUG
	case l < slog.LevelWarn:
		return pluginpb.LogLevel_LOG_LEVEL_INFO
	case l < slog.LevelError:
		return pluginpb.LogLevel_LOG_LEVEL_WARN
	}
	return pluginpb.LogLevel_LOG_LEVEL_ERROR
}
