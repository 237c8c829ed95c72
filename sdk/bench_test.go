package sdk_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
	"github.com/batchhost/batchhost/sdk"
	"github.com/batchhost/batchhost/sdk/internal/testhook"
)

// benchConn serves p on an in-process attempt channel: the SDK's whole
// per-attempt path (frames, decode, task, encode, events, result) without
// process start-up.
func benchConn(b *testing.B, p sdk.Plugin) *pluginrpc.Conn {
	b.Helper()
	srv, err := testhook.NewServer(p, testhook.Options{})
	if err != nil {
		b.Fatal(err)
	}
	host, plugin, err := pluginrpc.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.ServeAttempts(plugin, r) }()
	b.Cleanup(func() { host.Close(); w.Close() })
	return host
}

func benchExecute(b *testing.B, c *pluginrpc.Conn, req *pluginpb.ExecuteRequest) {
	b.Helper()
	ev := &pluginpb.ExecuteEvent{}
	b.ReportAllocs()
	seq := uint64(0)
	for b.Loop() {
		seq++
		if err := c.Write(pluginrpc.StartFrame(seq, req)); err != nil {
			b.Fatal(err)
		}
		for {
			if err := c.Read(ev); err != nil {
				b.Fatal(err)
			}
			if r := ev.GetResult(); r != nil {
				if e := r.GetError(); e != nil {
					b.Fatal(e)
				}
				break
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
	benchExecute(b, benchConn(b, p), &pluginpb.ExecuteRequest{JobId: "j", Attempt: 1, Task: "noop", Args: []byte(`{}`)})
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
	benchExecute(b, benchConn(b, p), &pluginpb.ExecuteRequest{JobId: "j", Attempt: 1, Task: "chatty"})
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
	benchExecute(b, benchConn(b, p), &pluginpb.ExecuteRequest{JobId: "j", Attempt: 1, Task: "copy", Args: raw})
}
