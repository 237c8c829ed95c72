package sdktest

import (
	"io"
	"os"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
	"github.com/batchhost/batchhost/sdk"
	"github.com/batchhost/batchhost/sdk/internal/testhook"
)

// conn is p's task server played inside the test process through the real
// protocol: Describe over go-plugin's in-memory gRPC connection, attempts
// on an attempt channel of their own each.
type conn struct {
	server testhook.Server
	client pluginpb.TaskPluginClient
	close  func()
}

func connect(t testing.TB, p sdk.Plugin) *conn {
	t.Helper()
	srv, err := testhook.NewServer(p, testhook.Options{RecoverPanics: true})
	if err != nil {
		t.Fatalf("sdktest: invalid plugin: %v", err)
	}
	client, server := quietTestConn(t, pluginrpc.ServePlugins(srv)[pluginrpc.ProtocolVersion])
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
	return &conn{server: srv, client: raw.(pluginpb.TaskPluginClient), close: closeAll}
}

// channel is the host's side of an attempt channel and its lifeline.
type channel struct {
	conn     *pluginrpc.Conn
	lifeline *os.File
}

func (ch *channel) close() {
	ch.conn.Close()
	ch.lifeline.Close()
}

// attempts opens a fresh attempt channel and lifeline to the server: a
// task abandoned on an earlier one (it ignored its cancel) cannot disturb
// the next attempt. Closing it ends the server's side.
func (c *conn) attempts(t testing.TB) *channel {
	t.Helper()
	host, plugin, err := pluginrpc.Pipe()
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		host.Close()
		t.Fatalf("sdktest: %v", err)
	}
	go func() {
		_ = c.server.ServeAttempts(plugin, r)
		r.Close()
	}()
	return &channel{conn: host, lifeline: w}
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
