package sdktest

import (
	"strings"
	"time"

	"github.com/batchhost/batchhost/proto/pluginpb"
)

// Event is one event of an attempt other than its result:
// Progress, Log or Heartbeat. Switch on the type:
//
//	for _, ev := range res.Events {
//		switch ev := ev.(type) {
//		case sdktest.Progress: ...
//		case sdktest.Log: ...
//		case sdktest.Heartbeat: ...
//		}
//	}
type Event interface{ isEvent() }

// Progress is a Job.Progress report.
type Progress struct {
	Fraction float64
	Message  string
}

// Log is a record written through Job.Log.
type Log struct {
	// Level is "trace", "debug", "info", "warn" or "error".
	Level   string
	Message string
	// Fields are the record's attributes; groups are nested maps. Numbers
	// are float64, as encoding/json decodes them.
	Fields map[string]any
	Time   time.Time
}

// Heartbeat is a liveness beat the SDK sends while a task runs.
type Heartbeat struct{}

func (Progress) isEvent()  {}
func (Log) isEvent()       {}
func (Heartbeat) isEvent() {}

// Error is an attempt's failure as the host would record it.
type Error struct {
	// Kind is the error kind in the host's spelling: "task_error",
	// "permanent", "invalid_args", "unknown_task", "unsupported_format",
	// and, played by sdktest itself, "plugin_crashed" (the task panicked),
	// "timeout" (WithTimeout passed) and "canceled" (WithContext's ctx
	// ended).
	Kind      string
	Message   string
	Retryable bool
	// RetryAfter is the wait the task asked for with sdk.RetryAfter.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Kind + ": " + e.Message }

// kindName spells a wire kind the way the host does; the unspecified kind
// reads as task_error, as it does on the host.
func kindName(k pluginpb.ErrorKind) string {
	if k == pluginpb.ErrorKind_ERROR_KIND_UNSPECIFIED {
		return "task_error"
	}
	return strings.ToLower(strings.TrimPrefix(k.String(), "ERROR_KIND_"))
}

func levelName(l pluginpb.LogLevel) string {
	return strings.ToLower(strings.TrimPrefix(l.String(), "LOG_LEVEL_"))
}
