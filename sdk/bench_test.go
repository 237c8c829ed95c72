package sdk_test

import (
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
	"github.com/batchhost/batchhost/sdk"
	"github.com/batchhost/batchhost/sdk/internal/testhook"
)

// benchClient serves p over go-plugin's in-memory gRPC connection: the
// SDK's whole per-attempt path (decode, task, encode, events, result)
// without process start-up.
func benchClient(b *testing.B, p sdk.Plugin) pluginpb.TaskPluginClient {
	b.Helper()
	hclog.DefaultOutput = io.Discard // TestPluginGRPCConn logs at debug level
	srv, err := testhook.NewServer(p, testhook.Options{})
	if err != nil {
		b.Fatal(err)
	}
	client, server := plugin.TestPluginGRPCConn(b, false, pluginrpc.VersionedPlugins(srv)[pluginrpc.ProtocolVersion])
	b.Cleanup(func() { server.Stop(); _ = client.Close() })
	raw, err := client.Dispense(pluginrpc.PluginKey)
	if err != nil {
		b.Fatal(err)
	}
	return raw.(pluginpb.TaskPluginClient)
}

func benchExecute(b *testing.B, c pluginpb.TaskPluginClient, req *pluginpb.ExecuteRequest) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		stream, err := c.Execute(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		for {
			ev, err := stream.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if e := ev.GetResult().GetError(); e != nil {
				b.Fatal(e)
			}
		}
	}
}

// BenchmarkExecuteNoop is one attempt of a task that does nothing: the
// SDK's fixed cost per job on a warm process.
func BenchmarkExecuteNoop(b *testing.B) {
	p := sdk.Plugin{Name: "bench", Version: "1", Tasks: []sdk.Task{
		sdk.NewTask("noop", "Does nothing", func(context.Context, *sdk.Job, struct{}) (struct{}, error) { return struct{}{}, nil }),
	}}
	benchExecute(b, benchClient(b, p), &pluginpb.ExecuteRequest{JobId: "j", Attempt: 1, Task: "noop", Args: []byte(`{}`)})
}

// BenchmarkExecuteEvents is an attempt sending 100 progress reports and
// 100 log records: the cost of an event (divide by 200).
func BenchmarkExecuteEvents(b *testing.B) {
	p := sdk.Plugin{Name: "bench", Version: "1", Tasks: []sdk.Task{
		sdk.NewTask("chatty", "Reports a lot", func(_ context.Context, job *sdk.Job, _ struct{}) (struct{}, error) {
			for i := range 100 {
				job.Progress(float64(i)/100, "working")
				job.Log().Info("item", "i", i, "name", "x")
			}
			return struct{}{}, nil
		}),
	}}
	benchExecute(b, benchClient(b, p), &pluginpb.ExecuteRequest{JobId: "j", Attempt: 1, Task: "chatty"})
}

// BenchmarkExecuteArgs decodes a 1 KiB args object and encodes it back.
func BenchmarkExecuteArgs(b *testing.B) {
	type item struct {
		Name  string   `json:"name"`
		Tags  []string `json:"tags"`
		Score float64  `json:"score"`
	}
	type args struct {
		Items []item `json:"items"`
	}
	p := sdk.Plugin{Name: "bench", Version: "1", Tasks: []sdk.Task{
		sdk.NewTask("copy", "Copies its args", func(_ context.Context, _ *sdk.Job, in args) (args, error) { return in, nil }),
	}}
	var a args
	for range 16 {
		a.Items = append(a.Items, item{Name: "document.txt", Tags: []string{"a", "b", "c"}, Score: 0.5})
	}
	raw, _ := json.Marshal(a)
	benchExecute(b, benchClient(b, p), &pluginpb.ExecuteRequest{JobId: "j", Attempt: 1, Task: "copy", Args: raw})
}
