package sdktest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/sdk"
)

// badArgs are args no task may accept: broken JSON and trailing data. The
// task functions never run on them (the SDK refuses them while decoding),
// so Conformance is safe for tasks with side effects.
var badArgs = []string{`{`, `{not json}`, `{} {}`, `"unterminated`}

// conformanceTimeout bounds each call, so that a broken plugin fails the
// check instead of hanging the test.
const conformanceTimeout = 30 * time.Second

// Conformance checks what every plugin must do, through the real protocol:
// its configuration is valid; Describe gives its name, a version and every
// task with a one-line description; an unknown task is refused with kind
// unknown_task (not retryable); every task refuses malformed JSON args with
// kind invalid_args (not retryable) and none of this panics. It runs no
// task on valid args, so it is safe for tasks with side effects. Call it
// once per plugin:
//
//	func TestConformance(t *testing.T) { sdktest.Conformance(t, myplugin.Plugin()) }
func Conformance(t *testing.T, p sdk.Plugin) {
	t.Helper()
	c := connect(t, p) // fails the test for an invalid configuration
	defer c.close()
	t.Run("describe", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), conformanceTimeout)
		defer cancel()
		d, err := c.client.Describe(ctx, &pluginpb.DescribeRequest{})
		if err != nil {
			t.Fatalf("Describe: %v", err)
		}
		for _, problem := range describeProblems(p, d) {
			t.Error(problem)
		}
	})
	t.Run("unknown_task", func(t *testing.T) {
		res := run(t, c, newConfig([]Option{WithTimeout(conformanceTimeout)}), "sdktest.no-such-task", nil)
		if problem := wantRefusal(res, "unknown_task"); problem != "" {
			t.Errorf("unknown task: %s", problem)
		}
	})
	for _, task := range p.Tasks {
		t.Run("bad_args/"+task.Name(), func(t *testing.T) {
			for _, a := range badArgs {
				res := run(t, c, newConfig([]Option{WithTimeout(conformanceTimeout)}), task.Name(), json.RawMessage(a))
				if problem := wantRefusal(res, "invalid_args"); problem != "" {
					t.Errorf("task %q with args %s: %s", task.Name(), a, problem)
				}
			}
		})
	}
}

// describeProblems compares a Describe answer with the plugin it came from.
func describeProblems(p sdk.Plugin, d *pluginpb.DescribeResponse) []string {
	var out []string
	if d.GetName() != p.Name {
		out = append(out, fmt.Sprintf("Describe name is %q, want %q", d.GetName(), p.Name))
	}
	if d.GetVersion() == "" {
		out = append(out, "the plugin has no version: set Plugin.Version (semver, e.g. \"1.0.0\")")
	}
	if d.GetFreshProcessPerAttempt() != p.FreshProcessPerAttempt {
		out = append(out, fmt.Sprintf("Describe fresh_process_per_attempt is %v, want %v", d.GetFreshProcessPerAttempt(), p.FreshProcessPerAttempt))
	}
	if len(d.GetTasks()) != len(p.Tasks) {
		out = append(out, fmt.Sprintf("Describe lists %d tasks, the plugin has %d", len(d.GetTasks()), len(p.Tasks)))
		return out
	}
	for i, ti := range d.GetTasks() {
		want := p.Tasks[i]
		switch {
		case ti.GetName() != want.Name():
			out = append(out, fmt.Sprintf("Describe task %d is %q, want %q", i+1, ti.GetName(), want.Name()))
		case strings.TrimSpace(ti.GetDescription()) == "":
			out = append(out, fmt.Sprintf("task %q has no description: give NewTask a one-line description", ti.GetName()))
		case strings.ContainsAny(ti.GetDescription(), "\r\n"):
			out = append(out, fmt.Sprintf("task %q: the description must be one line", ti.GetName()))
		}
	}
	return out
}

// wantRefusal reports what is wrong with res as a refusal of kind kind,
// or "" if it is one.
func wantRefusal(res *Result, kind string) string {
	switch {
	case res.Err == nil:
		return fmt.Sprintf("succeeded with %s, want an error of kind %s", res.Output, kind)
	case res.Err.Kind == "plugin_crashed":
		return "panicked: " + res.Err.Message
	case res.Err.Kind != kind:
		return fmt.Sprintf("failed with kind %s (%s), want %s", res.Err.Kind, res.Err.Message, kind)
	case res.Err.Retryable:
		return fmt.Sprintf("kind %s is marked retryable; it must not be", kind)
	case res.Err.Message == "":
		return fmt.Sprintf("kind %s has no message", kind)
	}
	return ""
}
