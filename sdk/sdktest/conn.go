package sdktest

import (
	"io"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
	"github.com/batchhost/batchhost/sdk"
	"github.com/batchhost/batchhost/sdk/internal/testhook"
)

// conn is a connection to p's task server over go-plugin's in-memory test
// connection: the real gRPC protocol, served inside the test process.
type conn struct {
	client pluginpb.TaskPluginClient
	// done receives once per finished Execute call on the server side.
	done  chan struct{}
	close func()
}

func connect(t testing.TB, p sdk.Plugin) *conn {
	t.Helper()
	done := make(chan struct{}, 16)
	srv, err := testhook.NewServer(p, testhook.Options{
		RecoverPanics: true,
		ExecuteDone: func() {
			select {
			case done <- struct{}{}:
			default: // nobody is waiting for this many calls
			}
		},
	})
	if err != nil {
		t.Fatalf("sdktest: invalid plugin: %v", err)
	}
	client, server := quietTestConn(t, pluginrpc.VersionedPlugins(srv)[pluginrpc.ProtocolVersion])
	// Stop the server before closing the client: Close asks the server to
	// stop itself over the connection, and two Stops at once race inside
	// go-plugin. Stopped first, the server just refuses that request.
	closeAll := func() {
		server.Stop()
		_ = client.Close()
	}
	raw, err := client.Dispense(pluginrpc.PluginKey)
	if err != nil {
		closeAll()
		t.Fatalf("sdktest: dispense: %v", err)
	}
	return &conn{client: raw.(pluginpb.TaskPluginClient), done: done, close: closeAll}
}

// hclogMu serializes quietTestConn's swap of hclog.DefaultOutput.
var hclogMu sync.Mutex

// quietTestConn is plugin.TestPluginGRPCConn without its debug chatter:
// that function logs every connection's setup and teardown to stderr at
// debug level through a logger it makes itself, burying test output. The
// logger takes hclog.DefaultOutput when it is created, so the output is
// swapped for the duration of the call. Nothing else in a plugin's test
// binary creates hclog loggers concurrently with sdktest.
func quietTestConn(t testing.TB, ps plugin.PluginSet) (*plugin.GRPCClient, *plugin.GRPCServer) {
	t.Helper()
	hclogMu.Lock()
	defer hclogMu.Unlock()
	saved := hclog.DefaultOutput
	hclog.DefaultOutput = io.Discard
	defer func() { hclog.DefaultOutput = saved }()
	return plugin.TestPluginGRPCConn(t, false, ps)
}
