package exec_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/batchhost/batchhost/internal/testbin"
	"github.com/batchhost/batchhost/plugins/exec"
	"github.com/batchhost/batchhost/sdk/sdktest"
)

// deadline bounds every wait of these tests: generous, for busy machines.
const deadline = 30 * time.Second

// run runs exec.run in-process through the real protocol; the command
// processes are real. It also checks that nothing was left running below
// the test process.
func run(t *testing.T, args exec.RunArgs, opts ...sdktest.Option) *sdktest.Result {
	t.Helper()
	res := sdktest.Run(t, exec.Plugin(), "run", args, opts...)
	noDescendants(t)
	return res
}

func runOK(t *testing.T, args exec.RunArgs, opts ...sdktest.Option) exec.RunResult {
	t.Helper()
	var out exec.RunResult
	run(t, args, opts...).Decode(&out)
	return out
}

// noDescendants fails the test if a process below the test process is
// left (a command that was not waited for, or not killed).
func noDescendants(t *testing.T) {
	t.Helper()
	if left := testbin.Descendants(os.Getpid()); len(left) > 0 {
		t.Errorf("processes left behind: %+v", left)
	}
}

// wantErr fails the test unless res failed with kind and a message
// holding every part.
func wantErr(t *testing.T, res *sdktest.Result, kind string, retryable bool, parts ...string) {
	t.Helper()
	if res.Err == nil {
		t.Fatalf("succeeded with %s, want a %s error", res.Output, kind)
	}
	if res.Err.Kind != kind || res.Err.Retryable != retryable {
		t.Fatalf("error %s (retryable %v): %s; want %s (retryable %v)", res.Err.Kind, res.Err.Retryable, res.Err.Message, kind, retryable)
	}
	for _, p := range parts {
		if !strings.Contains(res.Err.Message, p) {
			t.Errorf("error %q does not mention %q", res.Err.Message, p)
		}
	}
}

// logLines returns the messages of the log records from stream, in order.
func logLines(res *sdktest.Result, stream string) []string {
	var out []string
	for _, l := range res.Logs() {
		if l.Fields["stream"] == stream {
			out = append(out, l.Message)
		}
	}
	return out
}

// waitGone waits until process pid has exited (it may linger as a zombie
// until reaped): a pidfd becomes readable when its process exits.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return
	}
	if err != nil {
		t.Fatalf("pidfd_open %d: %v", pid, err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(deadline.Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll pidfd of %d: %v", pid, err)
		}
		if n == 0 {
			t.Fatalf("process %d (%s) still runs %v later", pid, procName(pid), deadline)
		}
		return
	}
}

func procName(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
}

// readFIFO opens the FIFO at path for reading, which blocks until the
// command opens it to write, and returns what the command wrote: the
// command's way of saying it reached a point, without polling.
func readFIFO(t *testing.T, path string) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(path)
		got <- string(b)
	}()
	select {
	case s := <-got:
		return strings.TrimSpace(s)
	case <-time.After(deadline):
		// Unblock the reader before failing.
		if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatalf("the command never wrote to %s", path)
		return ""
	}
}

func mkfifo(t *testing.T) string {
	t.Helper()
	p := t.TempDir() + "/fifo"
	if err := unix.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pids(t *testing.T, s string) []int {
	t.Helper()
	var out []int
	for _, f := range strings.Fields(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("not a pid list: %q", s)
		}
		out = append(out, n)
	}
	return out
}

// withCancel runs args in a goroutine with a ctx the test cancels, and
// returns the cancel function and the result's channel.
func withCancel(t *testing.T, args exec.RunArgs) (context.CancelFunc, <-chan *sdktest.Result) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan *sdktest.Result, 1)
	go func() { done <- sdktest.Run(t, exec.Plugin(), "run", args, sdktest.WithContext(ctx)) }()
	return cancel, done
}
