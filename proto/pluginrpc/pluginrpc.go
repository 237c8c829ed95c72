// Package pluginrpc is the go-plugin glue shared by the host and the SDK: the
// versioned handshake, the plugin sets, the attempt channel of protocol
// version 2 and the conventions for the process environment. It is the only
// hand-written code under proto/; both sides import it so that they cannot
// disagree about the handshake or the framing.
package pluginrpc

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/batchhost/batchhost/proto/pluginpb"
)

// Protocol versions, negotiated in go-plugin's handshake: the host offers
// every version it speaks and the plugin picks the highest it serves.
const (
	// ProtocolVersion1 runs each attempt as one Execute call (an HTTP/2
	// stream per attempt). Plugins built with SDKs before version 2 speak
	// only this; the host still runs them.
	ProtocolVersion1 = 1
	// ProtocolVersion2 runs attempts on the attempt channel (see Conn):
	// one message each way per attempt, no stream set-up. gRPC remains for
	// Describe and go-plugin's own services.
	ProtocolVersion2 = 2
	// ProtocolVersion is the version this SDK serves.
	ProtocolVersion = ProtocolVersion2
)

// PluginKey is the name under which the task service is dispensed.
const PluginKey = "task"

// Handshake is the go-plugin handshake. The magic cookie only keeps a user
// from running a plugin binary by hand by mistake; it is not a security
// measure. ProtocolVersion here is go-plugin's fallback for clients that
// send no version list; the versions in use come from the plugin sets.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion1,
	MagicCookieKey:   "BATCHHOST_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "5f1c0c1e-batchhost-task-plugin",
}

// LifelineFDEnv names the environment variable that carries the number of a
// file descriptor the host holds the write end of. The plugin reads it; EOF
// means the host is gone and the plugin must exit. It backs up Pdeathsig,
// which Linux ties to the thread that forked, not to the process. With
// protocol version 2 the host also writes cancels to it (see WriteCancel).
const LifelineFDEnv = "BATCHHOST_LIFELINE_FD"

// ContainerEnv names the environment variable that marks every process a
// plugin starts, where the host cannot use cgroups: the host finds the
// processes of an attempt by it, wherever they went. A plugin that runs
// commands in an environment of its own should pass it on unchanged.
const ContainerEnv = "BATCHHOST_CONTAINER"

// BinaryPrefix is the file name prefix of plugin executables in a plugin
// directory: batchhost-plugin-<name>.
const BinaryPrefix = "batchhost-plugin-"

// MaxMessageBytes bounds a single gRPC message, or attempt channel frame,
// in either direction. It is above the host's default args and result caps
// (1 MiB each) with room for envelopes, and low enough that a runaway
// plugin cannot make the host allocate without limit.
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

// VersionedPlugins returns the plugin sets of protocol version 1 only: a
// server given here serves attempts as Execute calls. It is what plugins
// built before version 2 served; tests use it to play such a plugin.
func VersionedPlugins(server pluginpb.TaskPluginServer) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion1: {PluginKey: &TaskPlugin{Impl: server}},
	}
}

// HostPlugins returns the plugin sets a host offers: every version it
// speaks. Its client learns the chosen one from go-plugin's
// NegotiatedVersion.
func HostPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion1: {PluginKey: &TaskPlugin{}},
		ProtocolVersion2: {PluginKey: &TaskPlugin{}},
	}
}

// ServePlugins returns the plugin sets the SDK serves: protocol version 2
// only, so that a host that does not speak it fails the handshake with a
// message naming both versions instead of running a plugin it cannot
// drive.
func ServePlugins(server pluginpb.TaskPluginServer) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion2: {PluginKey: &TaskPlugin{Impl: server}},
	}
}
