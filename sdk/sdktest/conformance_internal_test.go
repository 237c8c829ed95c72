package sdktest

import (
	"context"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/sdk"
)

func noop(context.Context, *sdk.Job, struct{}) (struct{}, error) { return struct{}{}, nil }

// TestDescribeProblems shows that Conformance's describe check can fail.
func TestDescribeProblems(t *testing.T) {
	p := sdk.Plugin{Name: "p", Version: "1", Tasks: []sdk.Task{sdk.NewTask("a", "A", noop), sdk.NewTask("b", "B", noop)}}
	good := &pluginpb.DescribeResponse{Name: "p", Version: "1", Tasks: []*pluginpb.TaskInfo{{Name: "a", Description: "A"}, {Name: "b", Description: "B"}}}
	if got := describeProblems(p, good); len(got) != 0 {
		t.Errorf("problems with a good answer: %v", got)
	}
	tests := []struct {
		name string
		edit func(d *pluginpb.DescribeResponse)
		want string
	}{
		{"name", func(d *pluginpb.DescribeResponse) { d.Name = "q" }, `name is "q"`},
		{"version", func(d *pluginpb.DescribeResponse) { d.Version = "" }, "no version"},
		{"fresh", func(d *pluginpb.DescribeResponse) { d.FreshProcessPerAttempt = true }, "fresh_process_per_attempt"},
		{"count", func(d *pluginpb.DescribeResponse) { d.Tasks = d.Tasks[:1] }, "lists 1 tasks"},
		{"task name", func(d *pluginpb.DescribeResponse) { d.Tasks[1].Name = "c" }, `task 2 is "c"`},
		{"no description", func(d *pluginpb.DescribeResponse) { d.Tasks[0].Description = " " }, "no description"},
		{"two lines", func(d *pluginpb.DescribeResponse) { d.Tasks[0].Description = "x\ny" }, "one line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &pluginpb.DescribeResponse{Name: "p", Version: "1", Tasks: []*pluginpb.TaskInfo{{Name: "a", Description: "A"}, {Name: "b", Description: "B"}}}
			tt.edit(d)
			got := strings.Join(describeProblems(p, d), "; ")
			if !strings.Contains(got, tt.want) {
				t.Errorf("problems %q, want %q", got, tt.want)
			}
		})
	}
}

// TestWantRefusal shows that Conformance's refusal checks can fail.
func TestWantRefusal(t *testing.T) {
	tests := []struct {
		res  *Result
		want string
	}{
		{&Result{Err: &Error{Kind: "invalid_args", Message: "bad"}}, ""},
		{&Result{Output: []byte(`{}`)}, "succeeded"},
		{&Result{Err: &Error{Kind: "plugin_crashed", Message: "panic: x"}}, "panicked"},
		{&Result{Err: &Error{Kind: "task_error", Message: "x", Retryable: true}}, "want invalid_args"},
		{&Result{Err: &Error{Kind: "invalid_args", Message: "x", Retryable: true}}, "retryable"},
		{&Result{Err: &Error{Kind: "invalid_args"}}, "no message"},
	}
	for _, tt := range tests {
		got := wantRefusal(tt.res, "invalid_args")
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("wantRefusal(%+v) = %q, want %q", tt.res.Err, got, tt.want)
		}
	}
}

func TestKindAndLevelNames(t *testing.T) {
	for k, want := range map[pluginpb.ErrorKind]string{
		pluginpb.ErrorKind_ERROR_KIND_UNSPECIFIED:        "task_error",
		pluginpb.ErrorKind_ERROR_KIND_TASK_ERROR:         "task_error",
		pluginpb.ErrorKind_ERROR_KIND_INVALID_ARGS:       "invalid_args",
		pluginpb.ErrorKind_ERROR_KIND_UNSUPPORTED_FORMAT: "unsupported_format",
		pluginpb.ErrorKind_ERROR_KIND_PLUGIN_CRASHED:     "plugin_crashed",
	} {
		if got := kindName(k); got != want {
			t.Errorf("kindName(%v) = %q, want %q", k, got, want)
		}
	}
	if got := levelName(pluginpb.LogLevel_LOG_LEVEL_WARN); got != "warn" {
		t.Errorf("levelName(WARN) = %q", got)
	}
}
