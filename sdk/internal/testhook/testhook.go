// Package testhook lets sdk/sdktest build the SDK's task server with
// behaviour a plugin binary must never have (recovering task panics), without
// making it a public knob of package sdk: only packages under sdk/ can
// import it.
package testhook

import "github.com/batchhost/batchhost/proto/pluginpb"

// Options are the test-only settings of a task server.
type Options struct {
	// RecoverPanics turns a panic inside a task into a plugin_crashed
	// result instead of letting it kill the process. sdktest needs this
	// because its tasks run inside the test binary.
	RecoverPanics bool
	// ExecuteDone, when non-nil, is called each time an Execute call
	// returns, after its result was sent (or its send failed). sdktest
	// uses it to learn whether a cancelled task really stopped.
	ExecuteDone func()
}

// NewServer builds the task server for p, which must be an sdk.Plugin; it
// returns an error for an invalid plugin configuration. Package sdk sets it
// in its init function, so it is non-nil once sdk is linked in.
var NewServer func(p any, o Options) (pluginpb.TaskPluginServer, error)
