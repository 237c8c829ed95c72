package host_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
)

// rogueEnv makes this test binary serve as a minimal plugin written against
// the published protocol (not the SDK, which clamps progress): a third
// party's plugin in another language would look like this.
const rogueEnv = "BATCHHOST_TEST_ROGUE_PLUGIN"

func init() {
	if os.Getenv(rogueEnv) != "1" {
		return
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  pluginrpc.Handshake,
		VersionedPlugins: pluginrpc.VersionedPlugins(rogue{}),
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger:           hclog.NewNullLogger(),
	})
	os.Exit(0)
}

type rogue struct {
	pluginpb.UnimplementedTaskPluginServer
}

func (rogue) Describe(context.Context, *pluginpb.DescribeRequest) (*pluginpb.DescribeResponse, error) {
	return &pluginpb.DescribeResponse{Name: "rogue", Version: "1", Tasks: []*pluginpb.TaskInfo{{Name: "nan"}}}, nil
}

func (rogue) Execute(req *pluginpb.ExecuteRequest, s grpc.ServerStreamingServer[pluginpb.ExecuteEvent]) error {
	s.Send(&pluginpb.ExecuteEvent{Event: &pluginpb.ExecuteEvent_Progress{Progress: &pluginpb.Progress{Fraction: math.NaN(), Message: "half"}}})
	return s.Send(&pluginpb.ExecuteEvent{Event: &pluginpb.ExecuteEvent_Result{Result: &pluginpb.Result{
		Outcome: &pluginpb.Result_Error{Error: &pluginpb.TaskError{Kind: pluginpb.ErrorKind_ERROR_KIND_TASK_ERROR, Message: "try again", Retryable: true}}}}})
}

// A plugin that reports NaN progress (the SDK clamps it; a plugin written
// against the raw protocol may not) must not make the job's record
// unencodable: that refused the whole round's batch and failed the host.
func TestNaNProgressFromAPluginFailsOnlyItsJob(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, e := range mustReadDir(t, pluginDir) {
		if err := os.Symlink(filepath.Join(pluginDir, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	script := "#!/bin/sh\n" + rogueEnv + "=1 exec " + exe + "\n"
	if err := os.WriteFile(filepath.Join(dir, "batchhost-plugin-rogue"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	h, _ := openHost(t, func(c *host.Config) { c.PluginDir = dir })
	ctx := ctxT(t)
	if ps := h.Problems(); len(ps) > 0 {
		t.Fatalf("plugins: %v", ps)
	}
	id := submit(t, h, host.JobSpec{Task: "rogue.nan", MaxAttempts: 2})
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	j, werr := h.Wait(wctx, id)
	other, serr := h.Submit(ctx, host.JobSpec{Task: "chaos.noop"})
	if serr != nil {
		t.Fatalf("after a rogue.nan job (Wait: %v %v), the host refuses an unrelated submit: %v", j, werr, serr)
	}
	if j := wait(t, h, other); j.State != host.StateCompleted {
		t.Fatalf("unrelated job %s", j.State)
	}
}

func mustReadDir(t *testing.T, dir string) []os.DirEntry {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return es
}
