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
// go-plugin. The process exits with code 3 as soon as the host is gone,
// even while a task is running: when the lifeline (see
// pluginrpc.LifelineFDEnv) or the attempt channel ends.
//
// A plugin built with this SDK speaks plugin protocol version 2 only: a
// host that does not offer it fails the handshake with a message naming
// both versions, reports the plugin as not loaded, and stops it.
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
	// A host that does not offer protocol version 2 passes no attempt
	// channel; it learns from go-plugin's handshake below that this plugin
	// speaks only version 2 ("incompatible API version with plugin. Plugin
	// version: 2, Client versions: [1]") and stops the process.
	if offered, _ := pluginrpc.HostOffers(pluginrpc.ProtocolVersion); offered {
		lifeline, err := openLifeline()
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
			os.Exit(1)
		}
		conn, err := pluginrpc.OpenAttemptChannel()
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
			os.Exit(1)
		}
		go func() {
			// These end only when the host is gone: it stops a plugin
			// through go-plugin first, which returns from Serve below.
			err := srv.ServeAttempts(conn, lifeline)
			lastWords(fmt.Sprintf("%s: the host is gone (%v); exiting\n", prog, err))
			os.Exit(lifelineExitCode)
		}()
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  pluginrpc.Handshake,
		VersionedPlugins: pluginrpc.ServePlugins(srv),
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
