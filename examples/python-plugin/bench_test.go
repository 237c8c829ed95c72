package pythonplugin_test

import (
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/internal/testbin"
	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
)

// Benchmarks of a Python plugin (pychaos, batchhost_sdk) beside the Go
// chaos plugin (sdk), run in one sitting so the figures compare:
//
//	go test -run '^$' -bench . -benchtime 20x -count 5 ./examples/python-plugin

var benchPlugins = []struct{ name, file, noop string }{
	{"python", "batchhost-plugin-pychaos", "pychaos.noop"},
	{"go", "batchhost-plugin-chaos", "chaos.noop"},
}

// BenchmarkStartToReady: a plugin process from exec to its first Describe
// answer (handshake, gRPC connection, Describe): what a host waits for
// before a cold plugin can take a job.
func BenchmarkStartToReady(b *testing.B) {
	for _, p := range benchPlugins {
		b.Run(p.name, func(b *testing.B) {
			path := filepath.Join(pluginDir, p.file)
			for range b.N {
				pl := testbin.StartPlugin(b, exec.Command(path))
				if _, err := pl.Tasks.Describe(context.Background(), &pluginpb.DescribeRequest{}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				pl.Client.Kill()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkNoopAttempts: attempts of a task that returns at once, one
// after the other on one warm process, as the host's runner makes them:
// the protocol's per-attempt cost in each SDK (the Python SDK speaks
// protocol version 1, an Execute call per attempt; the Go SDK version 2).
func BenchmarkNoopAttempts(b *testing.B) {
	for _, p := range benchPlugins {
		b.Run(p.name, func(b *testing.B) {
			pl := testbin.StartPlugin(b, exec.Command(filepath.Join(pluginDir, p.file)))
			_, task, _ := strings.Cut(p.noop, ".")
			req := &pluginpb.ExecuteRequest{JobId: "bench", Attempt: 1, Task: task}
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				var res *pluginpb.Result
				if pl.Client.NegotiatedVersion() == pluginrpc.ProtocolVersion1 {
					res = executeV1(b, pl.Tasks, req)
				} else {
					events, err := pl.Execute(context.Background(), req)
					if err != nil {
						b.Fatal(err)
					}
					res = events[len(events)-1].GetResult()
				}
				if res.GetError() != nil {
					b.Fatal(res.GetError())
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "attempts/s")
		})
	}
}

// executeV1 runs one attempt as an Execute call and returns its result.
func executeV1(b *testing.B, client pluginpb.TaskPluginClient, req *pluginpb.ExecuteRequest) *pluginpb.Result {
	stream, err := client.Execute(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	var res *pluginpb.Result
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			return res
		}
		if err != nil {
			b.Fatal(err)
		}
		if r := ev.GetResult(); r != nil {
			res = r
		}
	}
}

// BenchmarkHostNoop: noop jobs through a real host (one worker, so one
// warm plugin process; every state change fsynced), submitted in one
// commit and waited for: end-to-end jobs/s with each plugin.
func BenchmarkHostNoop(b *testing.B) {
	for _, p := range benchPlugins {
		b.Run(p.name, func(b *testing.B) {
			h := openHost(b, func(c *host.Config) { c.PluginDir = pluginDir; c.MaxWorkers = 1; c.MaxQueueSize = 10_000_000 })
			ctx := context.Background()
			wait(b, h, submit(b, h, host.JobSpec{Task: p.noop})) // warm
			specs := make([]host.JobSpec, b.N)
			for i := range specs {
				specs[i] = host.JobSpec{Task: p.noop}
			}
			b.ResetTimer()
			start := time.Now()
			ids, err := h.SubmitMany(ctx, specs)
			if err != nil {
				b.Fatal(err)
			}
			for _, id := range ids {
				if j, err := h.Wait(ctx, id); err != nil || j.State != host.StateCompleted {
					b.Fatalf("job %s: %v %v", id, j, err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
		})
	}
}
