package sdk_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/batchhost/batchhost/internal/testbin"
	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
)

// deadline bounds every wait for a child process: generous, because the
// machines running the tests are shared and slow.
const deadline = 30 * time.Second

var cookie = pluginrpc.Handshake.MagicCookieKey + "=" + pluginrpc.Handshake.MagicCookieValue

// helperCmd runs this test binary as the helper plugin of the given mode.
// Its unix socket goes to a short per-test directory: a plugin that dies
// (as several here do on purpose) leaves its socket file behind.
func helperCmd(t *testing.T, mode string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, plugin.EnvUnixSocketDir+"="+socketDir(t))
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// socketDir is a short temporary directory (unix socket paths are limited
// to about 100 bytes, too few for t.TempDir's long names).
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sdk-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// runHelper runs the helper to its end and returns its exit code and
// outputs.
func runHelper(t *testing.T, cmd *exec.Cmd) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitCmd(t, cmd)
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// waitCmd waits for a started command, killing it after the deadline.
func waitCmd(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(deadline):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the plugin did not exit within %v", deadline)
	}
}

func assertOneLine(t *testing.T, stderr string, want ...string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("stderr is not exactly one line:\n%s", stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not contain %q", stderr, w)
		}
	}
}

func TestServeRunByHand(t *testing.T) {
	code, stdout, stderr := runHelper(t, helperCmd(t, "good"))
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
	assertOneLine(t, stderr, `batchhost task plugin "helper"`, "plugin directory")
}

func TestServeBadConfig(t *testing.T) {
	code, stdout, stderr := runHelper(t, helperCmd(t, "bad-name", cookie))
	if code != 1 || stdout != "" {
		t.Errorf("exit code %d, stdout %q; want 1 and nothing", code, stdout)
	}
	assertOneLine(t, stderr, `plugin name "Bad Name" is invalid`)
}

func TestServeBadLifeline(t *testing.T) {
	for _, v := range []string{"abc", "-1", "2", "987"} {
		code, _, stderr := runHelper(t, helperCmd(t, "good", cookie, pluginrpc.LifelineFDEnv+"="+v))
		if code != 1 {
			t.Errorf("%s=%s: exit code %d, want 1", pluginrpc.LifelineFDEnv, v, code)
		}
		assertOneLine(t, stderr, pluginrpc.LifelineFDEnv, "file descriptor")
	}
}

// TestServeLifeline: closing the host's end of the lifeline makes the
// plugin exit with code 3 at once; until then it serves, and its stdout
// holds only the handshake line, which names protocol version 2.
func TestServeLifeline(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	attempts, end, err := pluginrpc.NewAttemptChannel()
	if err != nil {
		t.Fatal(err)
	}
	defer attempts.Close()
	cmd := helperCmd(t, "good", cookie, pluginrpc.LifelineFDEnv+"=3", pluginrpc.AttemptFDEnv+"=4")
	cmd.ExtraFiles = []*os.File{r, end}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	_ = end.Close()
	lines := bufio.NewReader(stdout)
	handshake, err := lines.ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("no handshake line: %v; stderr:\n%s", err, stderr.String())
	}
	if !regexp.MustCompile(`^1\|2\|unix\|.+\|grpc\|`).MatchString(handshake) {
		t.Errorf("handshake line %q", handshake)
	}
	_ = w.Close() // the host "dies"
	rest, _ := io.ReadAll(lines)
	waitCmd(t, cmd)
	if code := cmd.ProcessState.ExitCode(); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	if len(rest) != 0 {
		t.Errorf("stdout after the handshake: %q", rest)
	}
	if !strings.Contains(stderr.String(), "the host is gone") {
		t.Errorf("stderr does not say why it exited:\n%s", stderr.String())
	}
}

// TestServeAttemptChannelClosed: the attempt channel's end is the host's
// end too, even without a lifeline: the plugin exits with code 3.
func TestServeAttemptChannelClosed(t *testing.T) {
	p := testbin.StartPlugin(t, helperCmd(t, "good"))
	p.Attempts.Close()
	if code := p.WaitExit(t).ExitCode(); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	if out := p.Stderr.String(); !strings.Contains(out, "the host is gone") {
		t.Errorf("stderr does not say why it exited:\n%s", out)
	}
}

func TestServeBadAttemptChannel(t *testing.T) {
	for _, v := range []string{"", "abc", "1", "987"} {
		// stdin stands in for the lifeline, which is checked first.
		code, _, stderr := runHelper(t, helperCmd(t, "good", cookie, pluginrpc.LifelineFDEnv+"=0", pluginrpc.AttemptFDEnv+"="+v))
		if code != 1 {
			t.Errorf("%s=%s: exit code %d, want 1", pluginrpc.AttemptFDEnv, v, code)
		}
		assertOneLine(t, stderr, pluginrpc.AttemptFDEnv)
	}
}

// TestServeOnAnOlderHost: a host that offers only protocol version 1 (as
// hosts before version 2 did) fails the handshake with a message naming
// both versions.
func TestServeOnAnOlderHost(t *testing.T) {
	stderr := &syncBuffer{}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginrpc.Handshake,
		VersionedPlugins: pluginrpc.VersionedPlugins(nil),
		Cmd:              helperCmd(t, "good"),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
		Stderr:           stderr,
		StartTimeout:     deadline,
	})
	defer func() {
		client.Kill()
		if left := testbin.Descendants(os.Getpid()); len(left) > 0 {
			t.Errorf("processes left behind: %+v", left)
		}
	}()
	_, err := client.Client()
	if err == nil || !strings.Contains(err.Error(), "Plugin version: 2, Client versions: [1]") {
		t.Fatalf("start on a version 1 host: %v; stderr:\n%s", err, stderr.String())
	}
}

// TestServeProtocol drives a real plugin process: Describe, events in
// order ending with exactly one result, reuse for a second attempt, a
// cancel that reaches the task, and heartbeats only when asked for.
func TestServeProtocol(t *testing.T) {
	p := testbin.StartPlugin(t, helperCmd(t, "good"))
	if v := p.Client.NegotiatedVersion(); v != pluginrpc.ProtocolVersion2 {
		t.Errorf("negotiated protocol version %d, want %d", v, pluginrpc.ProtocolVersion2)
	}
	d, err := p.Tasks.Describe(context.Background(), &pluginpb.DescribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if d.GetName() != "helper" || d.GetVersion() != "0.1.0" || len(d.GetTasks()) != 4 || d.GetSdkVersion() == "" {
		t.Errorf("Describe = %v", d)
	}

	events, err := p.Execute(context.Background(), &pluginpb.ExecuteRequest{JobId: "j", Attempt: 1, Task: "steps", Args: []byte(`{"N":3}`)})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range events {
		switch {
		case ev.GetProgress() != nil:
			kinds = append(kinds, "progress")
		case ev.GetLog() != nil:
			kinds = append(kinds, "log")
		case ev.GetResult() != nil:
			kinds = append(kinds, "result")
		case ev.GetHeartbeat() != nil:
			kinds = append(kinds, "heartbeat")
		}
	}
	if got := strings.Join(kinds, " "); got != "progress log progress log progress log result" {
		t.Errorf("events: %s", got)
	}

	events, err = p.Execute(context.Background(), &pluginpb.ExecuteRequest{JobId: "j2", Attempt: 1, Task: "echo", Args: []byte(`{"x":"<&>"}`)})
	if err != nil || len(events) != 1 || string(events[0].GetResult().GetOutput()) != `{"x":"<&>"}` {
		t.Fatalf("echo: %v, %v", events, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	events, err = p.ExecuteFunc(ctx, &pluginpb.ExecuteRequest{JobId: "j3", Attempt: 1, Task: "block", HeartbeatIntervalMs: 10},
		func(ev *pluginpb.ExecuteEvent) {
			if ev.GetHeartbeat() != nil {
				cancel() // the task is running
			}
		})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	// The cancelled task returned its ctx error, and the process is free
	// for the next job.
	if e := events[len(events)-1].GetResult().GetError(); !strings.Contains(e.GetMessage(), "context canceled") {
		t.Errorf("result of the cancelled attempt: %v", events[len(events)-1])
	}
	if events, err := p.Execute(context.Background(), &pluginpb.ExecuteRequest{JobId: "j4", Attempt: 1, Task: "echo"}); err != nil || len(events) != 1 {
		t.Fatalf("attempt after a cancel: %v %v", events, err)
	}
}

// TestServePanicKillsProcess: a plugin binary does not recover a task's
// panic; the process dies with Go's exit status 2 and the trace on stderr.
func TestServePanicKillsProcess(t *testing.T) {
	p := testbin.StartPlugin(t, helperCmd(t, "good"))
	events, err := p.Execute(context.Background(), &pluginpb.ExecuteRequest{JobId: "j", Attempt: 1, Task: "panic"})
	if err == nil {
		t.Fatalf("the attempt ended normally with %v; want the channel broken by the crash", events)
	}
	if code := p.WaitExit(t).ExitCode(); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if out := p.Stderr.String(); !strings.Contains(out, "panic: helper boom") || !strings.Contains(out, "goroutine ") {
		t.Errorf("stderr lacks the panic trace:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer for a writer goroutine and a reader.
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
