package store

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

// appendJobJSON appends to b exactly what json.Marshal(j) makes, field by
// field, without reflection: job records are written once or twice per
// job and transition, and encoding/json's reflection was a tenth of the
// host's CPU in an end-to-end run of short jobs. What the fast path does
// not do itself (a string to escape, args or a result not compact and
// plain, a float json writes in exponent form, a time json refuses) it
// hands to encoding/json, value by value, or, when json would fail, ok is
// false and the caller marshals the whole record. TestJobJSONMatches
// fills every field of model.Job and compares the bytes with
// json.Marshal's, so that a field added to the model and not here fails.
func appendJobJSON(b []byte, j *model.Job) (_ []byte, ok bool) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, j.ID)
	b = append(b, `,"task":`...)
	b = appendJSONString(b, j.Task)
	if len(j.Args) > 0 {
		b = append(b, `,"args":`...)
		if b, ok = appendRawJSON(b, j.Args); !ok {
			return b, false
		}
	}
	if !j.Priority.Valid() {
		return b, false
	}
	b = append(b, `,"priority":`...)
	b = appendJSONString(b, j.Priority.String())
	b = append(b, `,"state":`...)
	b = appendJSONString(b, string(j.State))
	if j.PausedFrom != "" {
		b = append(b, `,"paused_from":`...)
		b = appendJSONString(b, string(j.PausedFrom))
	}
	if j.Group != "" {
		b = append(b, `,"group":`...)
		b = appendJSONString(b, j.Group)
	}
	if len(j.DependsOn) > 0 {
		b = append(b, `,"depends_on":[`...)
		for i, d := range j.DependsOn {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = appendJSONString(b, d.ID)
			if d.Policy != "" {
				b = append(b, `,"policy":`...)
				b = appendJSONString(b, string(d.Policy))
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if j.Key != "" {
		b = append(b, `,"key":`...)
		b = appendJSONString(b, j.Key)
	}
	if len(j.Labels) > 0 {
		b = append(b, `,"labels":{`...)
		keys := make([]string, 0, len(j.Labels))
		for k := range j.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, j.Labels[k])
		}
		b = append(b, '}')
	}
	if j.Schedule != "" {
		b = append(b, `,"schedule":`...)
		b = appendJSONString(b, j.Schedule)
	}
	b = append(b, `,"max_attempts":`...)
	b = strconv.AppendInt(b, int64(j.MaxAttempts), 10)
	b = append(b, `,"backoff":{"initial":`...)
	b = strconv.AppendInt(b, int64(j.Backoff.Initial), 10)
	b = append(b, `,"max":`...)
	b = strconv.AppendInt(b, int64(j.Backoff.Max), 10)
	b = append(b, `,"multiplier":`...)
	if b, ok = appendJSONFloat(b, j.Backoff.Multiplier); !ok {
		return b, false
	}
	b = append(b, `,"jitter":`...)
	if b, ok = appendJSONFloat(b, j.Backoff.Jitter); !ok {
		return b, false
	}
	b = append(b, '}')
	if j.Timeout != 0 {
		b = append(b, `,"timeout":`...)
		b = strconv.AppendInt(b, int64(j.Timeout), 10)
	}
	if j.StallTimeout != 0 {
		b = append(b, `,"stall_timeout":`...)
		b = strconv.AppendInt(b, int64(j.StallTimeout), 10)
	}
	if !j.Resources.IsZero() {
		b = append(b, `,"resources":{`...)
		comma := false
		if j.Resources.MilliCPU != 0 {
			b = append(b, `"milli_cpu":`...)
			b = strconv.AppendInt(b, j.Resources.MilliCPU, 10)
			comma = true
		}
		if j.Resources.MemoryMB != 0 {
			if comma {
				b = append(b, ',')
			}
			b = append(b, `"memory_mb":`...)
			b = strconv.AppendInt(b, j.Resources.MemoryMB, 10)
		}
		b = append(b, '}')
	}
	if !j.RunAt.IsZero() {
		b = append(b, `,"run_at":`...)
		if b, ok = appendJSONTime(b, j.RunAt); !ok {
			return b, false
		}
	}
	b = append(b, `,"attempt":`...)
	b = strconv.AppendInt(b, int64(j.Attempt), 10)
	if j.AttemptBase != 0 {
		b = append(b, `,"attempt_base":`...)
		b = strconv.AppendInt(b, int64(j.AttemptBase), 10)
	}
	if j.CancelRequested {
		b = append(b, `,"cancel_requested":true`...)
	}
	if j.Owner != "" {
		b = append(b, `,"owner":`...)
		b = appendJSONString(b, j.Owner)
	}
	if len(j.Result) > 0 {
		b = append(b, `,"result":`...)
		if b, ok = appendRawJSON(b, j.Result); !ok {
			return b, false
		}
	}
	if j.Error != nil {
		b = append(b, `,"error":`...)
		b = appendJobErrorJSON(b, j.Error)
	}
	b = append(b, `,"progress":{"fraction":`...)
	if b, ok = appendJSONFloat(b, j.Progress.Fraction); !ok {
		return b, false
	}
	if j.Progress.Message != "" {
		b = append(b, `,"message":`...)
		b = appendJSONString(b, j.Progress.Message)
	}
	b = append(b, '}')
	b = append(b, `,"created_at":`...)
	if b, ok = appendJSONTime(b, j.CreatedAt); !ok {
		return b, false
	}
	for _, t := range []struct {
		name string
		at   time.Time
	}{{`,"queued_at":`, j.QueuedAt}, {`,"started_at":`, j.StartedAt}, {`,"finished_at":`, j.FinishedAt}} {
		if !t.at.IsZero() {
			b = append(b, t.name...)
			if b, ok = appendJSONTime(b, t.at); !ok {
				return b, false
			}
		}
	}
	if len(j.Attempts) > 0 {
		b = append(b, `,"attempts":[`...)
		for i, a := range j.Attempts {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"attempt":`...)
			b = strconv.AppendInt(b, int64(a.Attempt), 10)
			b = append(b, `,"started_at":`...)
			if b, ok = appendJSONTime(b, a.StartedAt); !ok {
				return b, false
			}
			if a.Owner != "" {
				b = append(b, `,"owner":`...)
				b = appendJSONString(b, a.Owner)
			}
			if !a.FinishedAt.IsZero() {
				b = append(b, `,"finished_at":`...)
				if b, ok = appendJSONTime(b, a.FinishedAt); !ok {
					return b, false
				}
			}
			if a.Error != nil {
				b = append(b, `,"error":`...)
				b = appendJobErrorJSON(b, a.Error)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if j.Trace != (model.TraceContext{}) {
		b = append(b, `,"trace":{"traceparent":`...)
		b = appendJSONString(b, j.Trace.Parent)
		if j.Trace.State != "" {
			b = append(b, `,"tracestate":`...)
			b = appendJSONString(b, j.Trace.State)
		}
		b = append(b, '}')
	}
	return append(b, '}'), true
}

func appendJobErrorJSON(b []byte, e *model.JobError) []byte {
	b = append(b, `{"kind":`...)
	b = appendJSONString(b, string(e.Kind))
	b = append(b, `,"message":`...)
	b = appendJSONString(b, e.Message)
	if e.Retryable {
		b = append(b, `,"retryable":true`...)
	} else {
		b = append(b, `,"retryable":false`...)
	}
	if e.Exit != "" {
		b = append(b, `,"exit":`...)
		b = appendJSONString(b, e.Exit)
	}
	if e.Stderr != "" {
		b = append(b, `,"stderr":`...)
		b = appendJSONString(b, e.Stderr)
	}
	if e.Dependency != "" {
		b = append(b, `,"dependency":`...)
		b = appendJSONString(b, e.Dependency)
	}
	return append(b, '}')
}

// appendJSONString appends s as encoding/json writes a string: a plain
// one directly, one with anything to escape (quotes, control bytes, HTML
// characters, non-ASCII) by encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendRawJSON appends raw JSON as encoding/json writes a
// json.RawMessage (compacted, HTML characters escaped): compact plain
// ASCII as it is, anything else through encoding/json. ok is false for
// raw that is not valid JSON (json.Marshal fails on it).
func appendRawJSON(b, raw []byte) ([]byte, bool) {
	plain := true
	for _, c := range raw {
		if c <= ' ' || c > 0x7e || c == '<' || c == '>' || c == '&' {
			plain = false
			break
		}
	}
	if plain && json.Valid(raw) {
		return append(b, raw...), true
	}
	q, err := json.Marshal(json.RawMessage(raw))
	if err != nil {
		return b, false
	}
	return append(b, q...), true
}

// appendJSONFloat appends f as encoding/json writes a float64, for the
// values it writes without an exponent; ok is false for the others
// (NaN, infinities, and magnitudes it writes in exponent form).
func appendJSONFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return b, false
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64), true
}

// appendJSONTime appends t as time.Time's MarshalJSON writes it; ok is
// false for a time it refuses (a year outside 0-9999, a zone offset of a
// day or more).
func appendJSONTime(b []byte, t time.Time) ([]byte, bool) {
	if y := t.Year(); y < 0 || y > 9999 {
		return b, false
	}
	if _, off := t.Zone(); off <= -24*60*60 || off >= 24*60*60 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}
