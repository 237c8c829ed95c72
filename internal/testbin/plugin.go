package testbin

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
)

// Plugin is a plugin process started through go-plugin as the host starts
// one: the handshake offering every protocol version the host speaks, a
// lifeline and an attempt channel. Tests of plugin binaries drive it
// directly.
type Plugin struct {
	Client *plugin.Client
	Cmd    *exec.Cmd
	// Tasks is the gRPC client: Describe (and Execute on version 1).
	Tasks pluginpb.TaskPluginClient
	// Attempts is the host's end of the attempt channel (version 2).
	Attempts *pluginrpc.Conn
	// Lifeline is the host's end of the lifeline, which carries cancels.
	Lifeline *os.File
	Stderr   *SyncBuffer

	seq uint64 // the last attempt's
}

// StartTimeout bounds a plugin's start in tests: generous, because the
// machines running them are shared and slow.
const StartTimeout = 30 * time.Second

// StartPlugin starts cmd (an exec.Command of a plugin binary, with any
// environment the test needs already set) and fails the test if it does
// not complete go-plugin's handshake. The process is killed at the end of
// the test, which then fails if any process of the test binary is left.
func StartPlugin(t testing.TB, cmd *exec.Cmd) *Plugin {
	t.Helper()
	sockets, err := os.MkdirTemp("", "bh-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(sockets) })
	attempts, end, err := pluginrpc.NewAttemptChannel()
	if err != nil {
		t.Fatal(err)
	}
	lr, lw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// A plugin that dies leaves its socket file: keep those in a short
	// directory of the test's. (go-plugin passes UnixSocketConfig.TempDir
	// to the plugin only with a RunnerFunc, so set the variable here.)
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, plugin.EnvUnixSocketDir+"="+sockets,
		fmt.Sprintf("%s=%d", pluginrpc.LifelineFDEnv, 3+len(cmd.ExtraFiles)),
		fmt.Sprintf("%s=%d", pluginrpc.AttemptFDEnv, 4+len(cmd.ExtraFiles)))
	cmd.ExtraFiles = append(cmd.ExtraFiles, lr, end)
	p := &Plugin{Cmd: cmd, Attempts: attempts, Lifeline: lw, Stderr: &SyncBuffer{}}
	p.Client = plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginrpc.Handshake,
		VersionedPlugins: pluginrpc.HostPlugins(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
		Stderr:           p.Stderr,
		StartTimeout:     StartTimeout,
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(pluginrpc.MaxMessageBytes), grpc.MaxCallSendMsgSize(pluginrpc.MaxMessageBytes))},
	})
	t.Cleanup(func() {
		p.Client.Kill()
		attempts.Close()
		lw.Close()
		if left := Descendants(os.Getpid()); len(left) > 0 {
			t.Errorf("processes left behind: %+v", left)
		}
	})
	rpc, err := p.Client.Client()
	end.Close() // the plugin has its copies, or failed to start
	lr.Close()
	if err != nil {
		t.Fatalf("start %s: %v\nstderr:\n%s", cmd.Path, err, p.Stderr)
	}
	raw, err := rpc.Dispense(pluginrpc.PluginKey)
	if err != nil {
		t.Fatalf("dispense: %v", err)
	}
	p.Tasks = raw.(pluginpb.TaskPluginClient)
	return p
}

// Execute runs one attempt on the attempt channel and returns its events,
// the result last. When ctx ends first, the attempt is cancelled as the
// host cancels it (on the lifeline), and Execute goes on reading up to the
// result. The error is the channel's, if it broke before the result (a
// plugin that died). Attempts on one Plugin must not overlap.
func (p *Plugin) Execute(ctx context.Context, req *pluginpb.ExecuteRequest) ([]*pluginpb.ExecuteEvent, error) {
	return p.ExecuteFunc(ctx, req, nil)
}

// ExecuteFunc is Execute that also hands each event to fn as it arrives.
func (p *Plugin) ExecuteFunc(ctx context.Context, req *pluginpb.ExecuteRequest, fn func(*pluginpb.ExecuteEvent)) ([]*pluginpb.ExecuteEvent, error) {
	p.seq++
	seq := p.seq
	if err := p.Attempts.Write(pluginrpc.StartFrame(seq, req)); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = pluginrpc.WriteCancel(p.Lifeline, seq) })
	defer stop()
	var events []*pluginpb.ExecuteEvent
	for {
		ev := &pluginpb.ExecuteEvent{}
		if err := p.Attempts.Read(ev); err != nil {
			return events, err
		}
		events = append(events, ev)
		if fn != nil {
			fn(ev)
		}
		if ev.GetResult() != nil {
			return events, nil
		}
	}
}

// WaitExit waits until go-plugin has seen the process exit and returns its
// state. go-plugin offers no channel for this, so it polls Exited.
func (p *Plugin) WaitExit(t testing.TB) *os.ProcessState {
	t.Helper()
	deadline := time.Now().Add(StartTimeout)
	for !p.Client.Exited() {
		if time.Now().After(deadline) {
			t.Fatal("the plugin process did not exit")
		}
		time.Sleep(5 * time.Millisecond) // no exit event to wait on
	}
	return p.Cmd.ProcessState
}

// SyncBuffer is a bytes buffer safe for go-plugin's stderr goroutine and
// the test reading it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

var _ io.Writer = (*SyncBuffer)(nil)

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
