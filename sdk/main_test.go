package sdk_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/batchhost/batchhost/sdk"
)

// helperEnv makes the test binary act as a plugin instead of running tests,
// so that Serve is tested in a real process without a separate main
// package (go-plugin's own tests do the same).
const helperEnv = "SDK_TEST_HELPER_PLUGIN"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "good":
		sdk.Serve(helperPlugin())
	case "bad-name":
		p := helperPlugin()
		p.Name = "Bad Name"
		sdk.Serve(p)
	}
	os.Exit(0)
}

func helperPlugin() sdk.Plugin {
	return sdk.Plugin{Name: "helper", Version: "0.1.0", Tasks: []sdk.Task{
		sdk.NewTask("echo", "Returns its args", func(_ context.Context, _ *sdk.Job, in json.RawMessage) (json.RawMessage, error) {
			return in, nil
		}),
		sdk.NewTask("steps", "Reports progress and logs", func(_ context.Context, job *sdk.Job, in struct{ N int }) (struct{}, error) {
			for i := 1; i <= in.N; i++ {
				job.Progress(float64(i)/float64(in.N), "step")
				job.Log().Info("step", "i", i)
			}
			return struct{}{}, nil
		}),
		sdk.NewTask("panic", "Panics", func(context.Context, *sdk.Job, struct{}) (struct{}, error) {
			panic("helper boom")
		}),
		sdk.NewTask("block", "Blocks until cancelled", func(ctx context.Context, _ *sdk.Job, _ struct{}) (struct{}, error) {
			<-ctx.Done()
			return struct{}{}, ctx.Err()
		}),
	}}
}
