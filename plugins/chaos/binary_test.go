package chaos_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/batchhost/batchhost/internal/testbin"
	"github.com/batchhost/batchhost/proto/pluginpb"
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

// start starts the chaos binary through go-plugin, as the host does.
func start(t *testing.T) *testbin.Plugin {
	t.Helper()
	return testbin.StartPlugin(t, exec.Command(chaosBin))
}

// execute runs one attempt and returns its events up to the result, and
// the channel's error if it broke first.
func execute(p *testbin.Plugin, ctx context.Context, task, args string) ([]*pluginpb.ExecuteEvent, error) {
	return p.Execute(ctx, &pluginpb.ExecuteRequest{JobId: "j1", Attempt: 1, MaxAttempts: 1, Task: task, Args: []byte(args)})
}

func TestBinaryDescribe(t *testing.T) {
	p := start(t)
	d, err := p.Tasks.Describe(context.Background(), &pluginpb.DescribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ti := range d.GetTasks() {
		names = append(names, ti.GetName())
	}
	want := "noop echo big sleep fail panic exit kill hang progress alloc log linger"
	if d.GetName() != "chaos" || d.GetVersion() != "1.0.0" || strings.Join(names, " ") != want {
		t.Errorf("Describe = %s %s [%s], want chaos 1.0.0 [%s]", d.GetName(), d.GetVersion(), strings.Join(names, " "), want)
	}
}

func TestBinaryEchoAndReuse(t *testing.T) {
	p := start(t)
	for i := range 3 { // one process serves attempt after attempt
		args := fmt.Sprintf(`{"n":%d}`, i)
		events, err := execute(p, context.Background(), "echo", args)
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
	_, err := execute(p, context.Background(), "panic", `{"message":"boom 7"}`)
	if err == nil {
		t.Fatal("the stream ended normally; want it broken by the crash")
	}
	st := p.WaitExit(t)
	if st.ExitCode() != 2 {
		t.Errorf("exit code %d, want 2 (Go's panic status)", st.ExitCode())
	}
	if out := p.Stderr.String(); !strings.Contains(out, "panic: boom 7") || !strings.Contains(out, "goroutine ") {
		t.Errorf("stderr lacks the panic trace:\n%s", out)
	}
}

func TestBinaryExit(t *testing.T) {
	p := start(t)
	if _, err := execute(p, context.Background(), "exit", `{"code":7}`); err == nil {
		t.Fatal("the stream ended normally; want it broken by the exit")
	}
	if st := p.WaitExit(t); st.ExitCode() != 7 {
		t.Errorf("exit code %d, want 7", st.ExitCode())
	}
}

func TestBinaryKill(t *testing.T) {
	p := start(t)
	if _, err := execute(p, context.Background(), "kill", ``); err == nil {
		t.Fatal("the stream ended normally; want it broken by the kill")
	}
	st := p.WaitExit(t)
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("process state %v, want killed by SIGKILL", st)
	}
}

// TestBinaryHangIgnoresCancel: the host's cancel reaches the task's ctx,
// but the task keeps the process busy; only killing the process ends it.
func TestBinaryHangIgnoresCancel(t *testing.T) {
	p := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	heartbeat := make(chan struct{}, 1)
	go func() {
		_, err := p.ExecuteFunc(ctx, &pluginpb.ExecuteRequest{JobId: "j1", Attempt: 1, Task: "hang", HeartbeatIntervalMs: 10},
			func(ev *pluginpb.ExecuteEvent) {
				if ev.GetHeartbeat() != nil {
					select {
					case heartbeat <- struct{}{}:
					default:
					}
				}
			})
		done <- err
	}()
	// A heartbeat proves the task is running before we cancel.
	<-heartbeat
	cancel()
	// Heartbeats go on after the cancel: the task has not returned.
	<-heartbeat
	<-heartbeat
	// The process is alive and still answers, hang or not.
	if _, err := p.Tasks.Describe(context.Background(), &pluginpb.DescribeRequest{}); err != nil {
		t.Fatalf("Describe during hang: %v", err)
	}
	if p.Client.Exited() {
		t.Fatal("the plugin exited; hang must keep it running")
	}
	// go-plugin's Kill stops the gRPC server, so Serve returns and the
	// process exits even though the task never will.
	p.Client.Kill()
	p.WaitExit(t)
	if err := <-done; err == nil {
		t.Fatal("the hung attempt ended with a result")
	}
}

// TestBinaryAllocGrowsRSS: alloc makes the memory resident, so that RSS
// (what memory limits and the OOM killer see) really grows.
func TestBinaryAllocGrowsRSS(t *testing.T) {
	const mb = 128
	p := start(t)
	before := rssMiB(t, p.Cmd.Process.Pid)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	held := make(chan struct{})
	go func() {
		_, _ = p.ExecuteFunc(ctx, &pluginpb.ExecuteRequest{JobId: "j", Attempt: 1, Task: "alloc", Args: []byte(fmt.Sprintf(`{"mb":%d,"hold_ms":60000}`, mb))},
			func(ev *pluginpb.ExecuteEvent) {
				if ev.GetProgress() != nil { // the memory is in place
					close(held)
				}
			})
	}()
	<-held
	if now := rssMiB(t, p.Cmd.Process.Pid); now-before < mb*9/10 {
		t.Errorf("RSS went from %d MiB to %d MiB while holding %d MiB", before, now, mb)
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
