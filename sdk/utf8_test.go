package sdk_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/batchhost/batchhost/sdk"
	"github.com/batchhost/batchhost/sdk/sdktest"
)

// Invalid UTF-8 in an error, a log message or a progress message must not
// break the stream: protobuf refuses such strings.
func TestInvalidUTF8TextsStillReachTheHost(t *testing.T) {
	bad := "caf\xe9 \xff"
	p := sdk.Plugin{Name: "u", Version: "1", Tasks: []sdk.Task{
		sdk.NewTask("t", "emits invalid UTF-8", func(_ context.Context, job *sdk.Job, _ struct{}) (struct{}, error) {
			job.Progress(0.5, bad)
			job.Log().Info(bad)
			return struct{}{}, errors.New(bad)
		}),
	}}
	res := sdktest.Run(t, p, "t", nil)
	if res.Err == nil || res.Err.Kind != "task_error" || !utf8.ValidString(res.Err.Message) || !strings.HasPrefix(res.Err.Message, "caf") {
		t.Fatalf("error %+v", res.Err)
	}
	if pr := res.Progress(); len(pr) != 1 || !utf8.ValidString(pr[0].Message) {
		t.Fatalf("progress %+v", pr)
	}
	if lg := res.Logs(); len(lg) != 1 || !utf8.ValidString(lg[0].Message) {
		t.Fatalf("logs %+v", lg)
	}
}
