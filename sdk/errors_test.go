package sdk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/batchhost/batchhost/proto/pluginpb"
)

type ctxT = context.Context

func TestToTaskError(t *testing.T) {
	base := errors.New("disk on fire")
	tests := []struct {
		name string
		err  error
		want *pluginpb.TaskError
	}{
		{"plain", base, &pluginpb.TaskError{Kind: pluginpb.ErrorKind_ERROR_KIND_TASK_ERROR, Message: "disk on fire", Retryable: true}},
		{"permanent", Permanent(base), &pluginpb.TaskError{Kind: pluginpb.ErrorKind_ERROR_KIND_PERMANENT, Message: "disk on fire"}},
		{"invalid args", InvalidArgs(base), &pluginpb.TaskError{Kind: pluginpb.ErrorKind_ERROR_KIND_INVALID_ARGS, Message: "disk on fire"}},
		{"unsupported", UnsupportedFormat(base), &pluginpb.TaskError{Kind: pluginpb.ErrorKind_ERROR_KIND_UNSUPPORTED_FORMAT, Message: "disk on fire"}},
		{"retry after", RetryAfter(base, 1500*time.Millisecond), &pluginpb.TaskError{Kind: pluginpb.ErrorKind_ERROR_KIND_TASK_ERROR, Message: "disk on fire", Retryable: true, RetryAfterMs: 1500}},
		{"retry after rounds up", RetryAfter(base, time.Microsecond), &pluginpb.TaskError{Kind: pluginpb.ErrorKind_ERROR_KIND_TASK_ERROR, Message: "disk on fire", Retryable: true, RetryAfterMs: 1}},
		{"retry after negative", RetryAfter(base, -time.Second), &pluginpb.TaskError{Kind: pluginpb.ErrorKind_ERROR_KIND_TASK_ERROR, Message: "disk on fire", Retryable: true}},
		{"wrapped permanent keeps context", fmt.Errorf("open x: %w", Permanent(base)), &pluginpb.TaskError{Kind: pluginpb.ErrorKind_ERROR_KIND_PERMANENT, Message: "open x: disk on fire"}},
		{"outermost wins", Permanent(RetryAfter(base, time.Second)), &pluginpb.TaskError{Kind: pluginpb.ErrorKind_ERROR_KIND_PERMANENT, Message: "disk on fire"}},
		{"context error", context.Canceled, &pluginpb.TaskError{Kind: pluginpb.ErrorKind_ERROR_KIND_TASK_ERROR, Message: "context canceled", Retryable: true}},
		{"empty message", errors.New(""), &pluginpb.TaskError{Kind: pluginpb.ErrorKind_ERROR_KIND_TASK_ERROR, Message: "task failed with an empty *errors.errorString error", Retryable: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, toTaskError(tt.err), protocmp.Transform()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorHelpersWrap(t *testing.T) {
	base := fmt.Errorf("read: %w", fs.ErrNotExist)
	helpers := map[string]func(error) error{
		"Permanent":         Permanent,
		"InvalidArgs":       InvalidArgs,
		"UnsupportedFormat": UnsupportedFormat,
		"RetryAfter":        func(err error) error { return RetryAfter(err, time.Second) },
	}
	for name, h := range helpers {
		if h(nil) != nil {
			t.Errorf("%s(nil) is not nil", name)
		}
		err := h(base)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: errors.Is does not see the wrapped error", name)
		}
		if err.Error() != base.Error() {
			t.Errorf("%s changed the message to %q", name, err)
		}
		var pe *fs.PathError
		if !errors.As(h(&fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}), &pe) || pe.Path != "/x" {
			t.Errorf("%s: errors.As does not see the wrapped error", name)
		}
	}
}
