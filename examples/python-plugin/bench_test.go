package pythonplugin_test

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
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
				c, _ := newClient(b, path, nil)
				rc, err := c.Client()
				if err != nil {
					b.Fatal(err)
				}
				raw, err := rc.Dispense(pluginrpc.PluginKey)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := raw.(pluginpb.TaskPluginClient).Describe(context.Background(), &pluginpb.DescribeRequest{}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				c.Kill()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkNoopAttempts: Execute calls of a task that returns at once, one
// after the other on one warm process, as the host's runner makes them:
// the protocol's per-attempt cost in each SDK.
func BenchmarkNoopAttempts(b *testing.B) {
	for _, p := range benchPlugins {
		b.Run(p.name, func(b *testing.B) {
			c, _ := newClient(b, filepath.Join(pluginDir, p.file), nil)
			defer c.Kill()
			rc, err := c.Client()
			if err != nil {
				b.Fatal(err)
			}
			raw, err := rc.Dispense(pluginrpc.PluginKey)
			if err != nil {
				b.Fatal(err)
			}
			client := raw.(pluginpb.TaskPluginClient)
			_, task, _ := strings.Cut(p.noop, ".")
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				stream, err := client.Execute(context.Background(), &pluginpb.ExecuteRequest{JobId: "bench", Attempt: 1, Task: task})
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
					if r := ev.GetResult(); r != nil && r.GetError() != nil {
						b.Fatal(r.GetError())
					}
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "attempts/s")
		})
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
