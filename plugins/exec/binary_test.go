package exec_test

import (
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/batchhost/batchhost/internal/testbin"
	"github.com/batchhost/batchhost/proto/pluginpb"
)

// execBin is the real plugin binary, built once in TestMain.
var execBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "exec-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	execBin, err = testbin.Build(dir, "batchhost-plugin-exec", "github.com/batchhost/batchhost/plugins/exec/cmd/batchhost-plugin-exec")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// pluginProc is the exec binary driven through go-plugin, as the host does.
type pluginProc struct{ *testbin.Plugin }

func startPlugin(t *testing.T) *pluginProc {
	t.Helper()
	return &pluginProc{testbin.StartPlugin(t, osexec.Command(execBin))}
}

// attempt is one running exec.run attempt: its events as they arrive, and
// the attempt channel's error if it broke before the result.
type attempt struct {
	t      *testing.T
	events chan *pluginpb.ExecuteEvent
	err    chan error
}

func (p *pluginProc) run(t *testing.T, ctx context.Context, args string) *attempt {
	t.Helper()
	a := &attempt{t: t, events: make(chan *pluginpb.ExecuteEvent, 1024), err: make(chan error, 1)}
	go func() {
		_, err := p.ExecuteFunc(ctx, &pluginpb.ExecuteRequest{JobId: "j1", Attempt: 1, MaxAttempts: 1, Task: "run", Args: []byte(args)},
			func(ev *pluginpb.ExecuteEvent) { a.events <- ev })
		a.err <- err
		close(a.events)
	}()
	return a
}

// next returns the attempt's next event, or nil and the error that ended
// the attempt without a result.
func (a *attempt) next() (*pluginpb.ExecuteEvent, error) {
	ev, ok := <-a.events
	if !ok {
		return nil, <-a.err
	}
	return ev, nil
}

// nextLog returns the next log record's message, skipping heartbeats and
// progress; it fails the test if the attempt ends first.
func (a *attempt) nextLog() string {
	a.t.Helper()
	for {
		ev, err := a.next()
		if err != nil || ev == nil {
			a.t.Fatalf("the attempt ended before the next log record: %v", err)
		}
		if ev.GetResult() != nil {
			a.t.Fatalf("the result %v came before the next log record", ev.GetResult())
		}
		if l := ev.GetLog(); l != nil {
			return l.GetMessage()
		}
	}
}

// result reads up to the result and returns it; nil and the error when
// the attempt channel breaks first.
func (a *attempt) result() (*pluginpb.Result, error) {
	for {
		ev, err := a.next()
		if err != nil || ev == nil {
			return nil, err
		}
		if r := ev.GetResult(); r != nil {
			return r, nil
		}
	}
}

// TestBinaryStreamsLines: a line reaches the host while the command is
// still running (it waits for the test to see the line).
func TestBinaryStreamsLines(t *testing.T) {
	p := startPlugin(t)
	flag := filepath.Join(t.TempDir(), "flag")
	a := p.run(t, context.Background(), fmt.Sprintf(`{"argv":["sh","-c","echo ready; while [ ! -e \"$FLAG\" ]; do sleep 0.01; done; echo done"],"env":{"FLAG":%q}}`, flag))
	if got := a.nextLog(); got != "ready" {
		t.Fatalf("first line %q, want ready", got)
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := a.nextLog(); got != "done" {
		t.Fatalf("second line %q, want done", got)
	}
	res, err := a.result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.GetOutput()), `"exit_code":0`) {
		t.Errorf("result %v", res)
	}
}

// TestBinaryCancelKillsGrandchildren: the host's cancel reaches the
// command's whole process group through the real plugin process, which
// keeps serving.
func TestBinaryCancelKillsGrandchildren(t *testing.T) {
	p := startPlugin(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := p.run(t, ctx, `{"argv":["sh","-c","sleep 100 & a=$!; sleep 100 & b=$!; echo $$ $a $b; wait"]}`)
	procs := pids(t, a.nextLog())
	below := testbin.Descendants(p.Cmd.Process.Pid)
	for _, pid := range procs {
		if !containsPID(below, pid) {
			t.Errorf("process %d is not below the plugin: %+v", pid, below)
		}
	}
	cancel()
	if res, err := a.result(); err != nil || res.GetError() == nil {
		t.Errorf("cancelled attempt: %v %v; want a result with an error", res, err)
	}
	for _, pid := range procs {
		waitGone(t, pid)
	}
	// The plugin is fine and runs the next job.
	res, err := p.run(t, context.Background(), `{"argv":["true"]}`).result()
	if err != nil || res.GetError() != nil {
		t.Fatalf("next job: %v %v", res, err)
	}
	if left := testbin.Descendants(p.Cmd.Process.Pid); len(left) > 0 {
		t.Errorf("left below the plugin: %+v", left)
	}
}

// TestBinaryPluginDeathKillsCommand: when the host SIGKILLs the plugin,
// the kernel kills the command it was running.
func TestBinaryPluginDeathKillsCommand(t *testing.T) {
	p := startPlugin(t)
	a := p.run(t, context.Background(), `{"argv":["sh","-c","echo $$; exec sleep 100"]}`)
	pid := pids(t, a.nextLog())[0]
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
}

func containsPID(procs []testbin.Proc, pid int) bool {
	for _, p := range procs {
		if p.PID == pid {
			return true
		}
	}
	return false
}
