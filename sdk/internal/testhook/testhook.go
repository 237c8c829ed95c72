// Package testhook lets sdk/sdktest build the SDK's task server with
// behaviour a plugin binary must never have (recovering task panics), without
// making it a public knob of package sdk: only packages under sdk/ can
// import it.
package testhook

import (
	"io"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
)

// Options are the test-only settings of a task server.
type Options struct {
	// RecoverPanics turns a panic inside a task into a plugin_crashed
	// result instead of letting it kill the process. sdktest needs this
	// because its tasks run inside the test binary.
	RecoverPanics bool
}

// Server is the SDK's task server: Describe over gRPC, attempts on the
// attempt channel.
type Server interface {
	pluginpb.TaskPluginServer
	// ServeAttempts runs the attempts the host starts on c, taking their
	// cancels from cancels, until either ends.
	ServeAttempts(c *pluginrpc.Conn, cancels io.Reader) error
}

// NewServer builds the task server for p, which must be an sdk.Plugin; it
// returns an error for an invalid plugin configuration. Package sdk sets it
// in its init function, so it is non-nil once sdk is linked in.
var NewServer func(p any, o Options) (Server, error)
