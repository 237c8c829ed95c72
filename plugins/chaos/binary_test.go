package chaos_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/batchhost/batchhost/internal/testbin"
	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
)

// chaosBin is the real plugin binary, built once in TestMain.
var chaosBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chaos-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	chaosBin, err = testbin.Build(dir, "batchhost-plugin-chaos", testbin.Chaos)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one chaos process driven through go-plugin, as the host does.
type proc struct {
	client *plugin.Client
	cmd    *exec.Cmd
	tasks  pluginpb.TaskPluginClient
	stderr *syncBuffer
}

func start(t *testing.T) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(chaosBin), stderr: &syncBuffer{}}
	// A plugin that dies leaves its socket file: keep those in a short
	// directory of the test's. (go-plugin passes UnixSocketConfig.TempDir
	// to the plugin only with a RunnerFunc, so set the variable here.)
	p.cmd.Env = append(os.Environ(), plugin.EnvUnixSocketDir+"="+socketDir(t))
	p.client = plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginrpc.Handshake,
		VersionedPlugins: pluginrpc.VersionedPlugins(nil),
		Cmd:              p.cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
		Stderr:           p.stderr,
		StartTimeout:     30 * time.Second,
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(pluginrpc.MaxMessageBytes), grpc.MaxCallSendMsgSize(pluginrpc.MaxMessageBytes))},
	})
	t.Cleanup(func() {
		p.client.Kill()
		if left := testbin.Descendants(os.Getpid()); len(left) > 0 {
			t.Errorf("processes left behind: %+v", left)
		}
	})
	rpc, err := p.client.Client()
	if err != nil {
		t.Fatalf("start chaos: %v\nstderr:\n%s", err, p.stderr)
	}
	raw, err := rpc.Dispense(pluginrpc.PluginKey)
	if err != nil {
		t.Fatalf("dispense: %v", err)
	}
	p.tasks = raw.(pluginpb.TaskPluginClient)
	return p
}

func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "chaos-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// execute runs one attempt and returns its events up to the end of the
// stream and the stream's error (nil after a result).
func (p *proc) execute(ctx context.Context, task, args string) ([]*pluginpb.ExecuteEvent, error) {
	stream, err := p.tasks.Execute(ctx, &pluginpb.ExecuteRequest{JobId: "j1", Attempt: 1, MaxAttempts: 1, Task: task, Args: []byte(args)})
	if err != nil {
		return nil, err
	}
	var events []*pluginpb.ExecuteEvent
	for {
		ev, err := stream.Recv()
		if err != nil {
			if events != nil && events[len(events)-1].GetResult() != nil {
				return events, nil
			}
			return events, err
		}
		events = append(events, ev)
	}
}

// waitExit waits until go-plugin has seen the process exit and returns its
// state. go-plugin offers no channel for this, so it polls Exited.
func (p *proc) waitExit(t *testing.T) *os.ProcessState {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !p.client.Exited() {
		if time.Now().After(deadline) {
			t.Fatal("the plugin process did not exit")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return p.cmd.ProcessState
}

func TestBinaryDescribe(t *testing.T) {
	p := start(t)
	d, err := p.tasks.Describe(context.Background(), &pluginpb.DescribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ti := range d.GetTasks() {
		names = append(names, ti.GetName())
	}
	want := "noop echo sleep fail panic exit kill hang progress alloc log"
	if d.GetName() != "chaos" || d.GetVersion() != "1.0.0" || strings.Join(names, " ") != want {
		t.Errorf("Describe = %s %s [%s], want chaos 1.0.0 [%s]", d.GetName(), d.GetVersion(), strings.Join(names, " "), want)
	}
}

func TestBinaryEchoAndReuse(t *testing.T) {
	p := start(t)
	for i := range 3 { // one process serves attempt after attempt
		args := fmt.Sprintf(`{"n":%d}`, i)
		events, err := p.execute(context.Background(), "echo", args)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(events[len(events)-1].GetResult().GetOutput()); got != args {
			t.Errorf("echo %s = %s", args, got)
		}
	}
}

func TestBinaryPanicDiesWithTrace(t *testing.T) {
	p := start(t)
	_, err := p.execute(context.Background(), "panic", `{"message":"boom 7"}`)
	if err == nil {
		t.Fatal("the stream ended normally; want it broken by the crash")
	}
	st := p.waitExit(t)
	if st.ExitCode() != 2 {
		t.Errorf("exit code %d, want 2 (Go's panic status)", st.ExitCode())
	}
	if out := p.stderr.String(); !strings.Contains(out, "panic: boom 7") || !strings.Contains(out, "goroutine ") {
		t.Errorf("stderr lacks the panic trace:\n%s", out)
	}
}

func TestBinaryExit(t *testing.T) {
	p := start(t)
	if _, err := p.execute(context.Background(), "exit", `{"code":7}`); err == nil {
		t.Fatal("the stream ended normally; want it broken by the exit")
	}
	if st := p.waitExit(t); st.ExitCode() != 7 {
		t.Errorf("exit code %d, want 7", st.ExitCode())
	}
}

func TestBinaryKill(t *testing.T) {
	p := start(t)
	if _, err := p.execute(context.Background(), "kill", ``); err == nil {
		t.Fatal("the stream ended normally; want it broken by the kill")
	}
	st := p.waitExit(t)
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("process state %v, want killed by SIGKILL", st)
	}
}

// TestBinaryHangIgnoresCancel: the host's cancel reaches the stream, but
// the task keeps the process busy; only killing the process ends it.
func TestBinaryHangIgnoresCancel(t *testing.T) {
	p := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := p.tasks.Execute(ctx, &pluginpb.ExecuteRequest{JobId: "j1", Attempt: 1, Task: "hang", HeartbeatIntervalMs: 10})
	if err != nil {
		t.Fatal(err)
	}
	// A heartbeat proves the task is running before we cancel.
	if ev, err := stream.Recv(); err != nil || ev.GetHeartbeat() == nil {
		t.Fatalf("first event %v, %v; want a heartbeat", ev, err)
	}
	cancel()
	if _, err := stream.Recv(); !errors.Is(ctx.Err(), context.Canceled) || err == nil {
		t.Fatalf("Recv after cancel: %v", err)
	}
	// The process is alive and still answers, hang or not.
	if _, err := p.tasks.Describe(context.Background(), &pluginpb.DescribeRequest{}); err != nil {
		t.Fatalf("Describe during hang: %v", err)
	}
	if p.client.Exited() {
		t.Fatal("the plugin exited; hang must keep it running")
	}
	// go-plugin's Kill stops the gRPC server, so Serve returns and the
	// process exits even though the task never will.
	p.client.Kill()
	p.waitExit(t)
}

// TestBinaryAllocGrowsRSS: alloc makes the memory resident, so that RSS
// (what memory limits and the OOM killer see) really grows.
func TestBinaryAllocGrowsRSS(t *testing.T) {
	const mb = 128
	p := start(t)
	before := rssMiB(t, p.cmd.Process.Pid)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := p.tasks.Execute(ctx, &pluginpb.ExecuteRequest{JobId: "j", Attempt: 1, Task: "alloc", Args: []byte(fmt.Sprintf(`{"mb":%d,"hold_ms":60000}`, mb))})
	if err != nil {
		t.Fatal(err)
	}
	for { // the progress report says the memory is in place
		ev, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetProgress() != nil {
			break
		}
	}
	if held := rssMiB(t, p.cmd.Process.Pid); held-before < mb*9/10 {
		t.Errorf("RSS went from %d MiB to %d MiB while holding %d MiB", before, held, mb)
	}
	cancel()
}

// rssMiB reads a process's resident set size from /proc.
func rssMiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
				t.Fatalf("VmRSS line %q: %v", line, err)
			}
			return kb / 1024
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// syncBuffer is a bytes.Buffer safe for go-plugin's stderr goroutine and
// the test reading it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
