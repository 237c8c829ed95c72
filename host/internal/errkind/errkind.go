// Package errkind names why a job attempt failed, in the spelling users see
// (JSON, CLI), and converts to and from the wire enum in one place.
package errkind

import "github.com/batchhost/batchhost/proto/pluginpb"

// Kind is why an attempt failed. The zero value means no error.
type Kind string

// The kinds. Their spellings are part of the CLI and JSON contract.
const (
	None             Kind = ""
	TaskError        Kind = "task_error"
	Permanent        Kind = "permanent"
	InvalidArgs      Kind = "invalid_args"
	UnknownTask      Kind = "unknown_task"
	PluginCrashed    Kind = "plugin_crashed"
	Timeout          Kind = "timeout"
	Stalled          Kind = "stalled"
	Canceled         Kind = "canceled"
	DependencyFailed Kind = "dependency_failed"
	Interrupted      Kind = "interrupted"
	ResultTooLarge   Kind = "result_too_large"
	UnsupportedFmt   Kind = "unsupported_format"
)

var fromProto = map[pluginpb.ErrorKind]Kind{
	pluginpb.ErrorKind_ERROR_KIND_TASK_ERROR:         TaskError,
	pluginpb.ErrorKind_ERROR_KIND_PERMANENT:          Permanent,
	pluginpb.ErrorKind_ERROR_KIND_INVALID_ARGS:       InvalidArgs,
	pluginpb.ErrorKind_ERROR_KIND_UNKNOWN_TASK:       UnknownTask,
	pluginpb.ErrorKind_ERROR_KIND_PLUGIN_CRASHED:     PluginCrashed,
	pluginpb.ErrorKind_ERROR_KIND_TIMEOUT:            Timeout,
	pluginpb.ErrorKind_ERROR_KIND_STALLED:            Stalled,
	pluginpb.ErrorKind_ERROR_KIND_CANCELED:           Canceled,
	pluginpb.ErrorKind_ERROR_KIND_DEPENDENCY_FAILED:  DependencyFailed,
	pluginpb.ErrorKind_ERROR_KIND_INTERRUPTED:        Interrupted,
	pluginpb.ErrorKind_ERROR_KIND_RESULT_TOO_LARGE:   ResultTooLarge,
	pluginpb.ErrorKind_ERROR_KIND_UNSUPPORTED_FORMAT: UnsupportedFmt,
}

// FromProto converts a wire kind. Kinds this host does not know (a newer
// plugin) and the unspecified kind become TaskError, which is retryable per
// policy: the safe reading of an error we cannot interpret.
func FromProto(k pluginpb.ErrorKind) Kind {
	if v, ok := fromProto[k]; ok {
		return v
	}
	return TaskError
}

// ToProto converts to the wire kind; None becomes unspecified.
func ToProto(k Kind) pluginpb.ErrorKind {
	for p, v := range fromProto {
		if v == k {
			return p
		}
	}
	return pluginpb.ErrorKind_ERROR_KIND_UNSPECIFIED
}

// Valid reports whether k is one of the kinds above (None included).
func Valid(k Kind) bool {
	if k == None {
		return true
	}
	for _, v := range fromProto {
		if v == k {
			return true
		}
	}
	return false
}

// NeverRetried reports whether an attempt that failed with k must not be
// retried automatically, whatever the task said: the same input would fail
// the same way, or a user asked for the job to stop.
func NeverRetried(k Kind) bool {
	switch k {
	case Permanent, InvalidArgs, UnknownTask, UnsupportedFmt, Canceled, DependencyFailed, ResultTooLarge:
		return true
	}
	return false
}
