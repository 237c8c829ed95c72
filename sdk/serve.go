package sdk

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/batchhost/batchhost/proto/pluginrpc"
	"github.com/batchhost/batchhost/sdk/internal/testhook"
)

// Serve runs the plugin: call it from main and nothing else. It returns
// when the host shuts the plugin down.
//
// Serve first checks p; on a bad configuration (a name that is not
// [a-z0-9_-]+, no tasks, a task name that is not [a-z0-9_.-]+ or starts
// with a dot, a duplicate task) it prints one line to stderr and exits 1.
// Run by hand rather than by a host, it says so in one line and exits 1.
//
// Serve never writes to stdout after go-plugin's handshake line; the
// task's own writes to os.Stdout and os.Stderr are carried to the host by
// go-plugin. If the host passed a lifeline (see pluginrpc.LifelineFDEnv),
// the process exits with code 3 as soon as the host is gone, even while a
// task is running.
//
// A panic in a task is not recovered: the process dies with the Go trace
// on stderr and the host records the attempt as plugin_crashed (and starts
// a fresh process for the next job). See the package documentation.
func Serve(p Plugin) {
	stderr := os.Stderr
	prog := filepath.Base(os.Args[0])
	srv, err := newServer(p, testhook.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		os.Exit(1)
	}
	if os.Getenv(pluginrpc.Handshake.MagicCookieKey) != pluginrpc.Handshake.MagicCookieValue {
		fmt.Fprintf(stderr, "%s: this is the batchhost task plugin %q; a batchhost host runs it: copy it into the host's plugin directory instead of running it by hand\n", prog, p.Name)
		os.Exit(1)
	}
	if err := watchLifeline(prog); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		os.Exit(1)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  pluginrpc.Handshake,
		VersionedPlugins: pluginrpc.VersionedPlugins(srv),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return plugin.DefaultGRPCServer(append(opts,
				grpc.MaxRecvMsgSize(pluginrpc.MaxMessageBytes),
				grpc.MaxSendMsgSize(pluginrpc.MaxMessageBytes),
			))
		},
		Logger: serveLogger(stderr),
	})
}

// serveLogger is go-plugin's own logger. Its default logs at trace level;
// warnings and errors are all the host needs, and every line it writes
// lands in the stderr tail the host keeps for crash reports.
func serveLogger(w io.Writer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "sdk",
		Level:      hclog.Warn,
		Output:     w,
		JSONFormat: true,
	})
}
