// Package pluginrpc is the go-plugin glue shared by the host and the SDK: the
// versioned handshake, the plugin set and the conventions for the process
// environment. It is the only hand-written code under proto/; both sides
// import it so that they cannot disagree about the handshake.
package pluginrpc

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/batchhost/batchhost/proto/pluginpb"
)

// ProtocolVersion is the current plugin protocol version. A breaking change
// to plugin.proto bumps it; the host keeps serving older versions it still
// understands through VersionedPlugins.
const ProtocolVersion = 1

// PluginKey is the name under which the task service is dispensed.
const PluginKey = "task"

// Handshake is the go-plugin handshake. The magic cookie only keeps a user
// from running a plugin binary by hand by mistake; it is not a security
// measure.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "BATCHHOST_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "5f1c0c1e-batchhost-task-plugin",
}

// LifelineFDEnv names the environment variable that carries the number of a
// file descriptor the host holds the write end of. The plugin reads it; EOF
// means the host is gone and the plugin must exit. It backs up Pdeathsig,
// which Linux ties to the thread that forked, not to the process.
const LifelineFDEnv = "BATCHHOST_LIFELINE_FD"

// BinaryPrefix is the file name prefix of plugin executables in a plugin
// directory: batchhost-plugin-<name>.
const BinaryPrefix = "batchhost-plugin-"

// MaxMessageBytes bounds a single gRPC message in either direction. It is
// above the host's default args and result caps (1 MiB each) with room for
// envelopes, and low enough that a runaway plugin cannot make the host
// allocate without limit.
const MaxMessageBytes = 64 << 20

// TaskPlugin is the go-plugin Plugin for the task service. Impl is set on
// the plugin side and unused on the host side.
type TaskPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pluginpb.TaskPluginServer
}

var _ plugin.GRPCPlugin = (*TaskPlugin)(nil)

// GRPCServer registers the task service on the plugin's gRPC server.
func (p *TaskPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterTaskPluginServer(s, p.Impl)
	return nil
}

// GRPCClient returns a pluginpb.TaskPluginClient on the host side.
func (p *TaskPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pluginpb.NewTaskPluginClient(c), nil
}

// VersionedPlugins returns the plugin sets by protocol version. The host
// passes a nil server.
func VersionedPlugins(server pluginpb.TaskPluginServer) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {PluginKey: &TaskPlugin{Impl: server}},
	}
}
