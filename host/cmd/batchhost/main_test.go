package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
	"github.com/batchhost/batchhost/internal/testbin"
)

var (
	// pluginDir holds the real chaos plugin, built once for all tests.
	pluginDir string
	// binDir holds the built batchhost binary with plugins/ beside it, as
	// a release lays them out.
	binDir string
	// batchhostBin is the built CLI, for the tests that run it for real.
	batchhostBin string
	// swap1Bin and swap2Bin are versions 1.0.0 and 2.0.0 of a test
	// plugin, for the reload tests.
	swap1Bin, swap2Bin string
)

func TestMain(m *testing.M) {
	if testbin.FuzzWorker() {
		os.Exit(m.Run())
	}
	tmp, err := os.MkdirTemp("", "bh-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := func() int {
		defer os.RemoveAll(tmp)
		pluginDir, err = testbin.PluginDir(tmp, map[string]string{"chaos": testbin.Chaos, "exec": testbin.Exec})
		if err == nil {
			binDir = filepath.Join(tmp, "bin")
			batchhostBin, err = testbin.Build(binDir, "batchhost", "github.com/batchhost/batchhost/host/cmd/batchhost")
		}
		if err == nil {
			_, err = testbin.Build(filepath.Join(binDir, "plugins"), "batchhost-plugin-chaos", testbin.Chaos)
		}
		const swap = "github.com/batchhost/batchhost/host/internal/runner/testdata/swapplugin"
		if err == nil {
			swap1Bin, err = testbin.BuildVersion(tmp, "swap-1", swap, "1.0.0")
		}
		if err == nil {
			swap2Bin, err = testbin.BuildVersion(tmp, "swap-2", swap, "2.0.0")
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		return m.Run()
	}()
	os.Exit(code)
}

// shortDir returns a fresh directory with a short path: unix socket
// addresses are limited to about 100 bytes, which t.TempDir can exceed.
func shortDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "bh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// daemon is a real host serving the control API on a temp socket, in
// this process: what "batchhost serve" runs, without the process.
type daemon struct {
	h    *host.Host
	sock string
	env  map[string]string
}

func startDaemon(t testing.TB, mod func(*host.Config)) *daemon {
	t.Helper()
	cfg := host.Config{
		DataDir:        t.TempDir(),
		PluginDir:      pluginDir,
		MaxWorkers:     4,
		KillGrace:      time.Second,
		DefaultBackoff: &host.Backoff{Initial: 5 * time.Millisecond, Multiplier: 2, Max: 50 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	h, err := host.Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	sock := filepath.Join(shortDir(t), "bh.sock")
	l, err := control.Listen(sock)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	srv := control.Serve(h, l)
	t.Cleanup(func() {
		srv.Stop()
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if left := testbin.Descendants(os.Getpid()); len(left) > 0 {
			t.Errorf("processes left after the daemon closed: %+v", left)
		}
	})
	return &daemon{h: h, sock: sock, env: map[string]string{"BATCHHOST_SOCKET": sock, "HOME": t.TempDir()}}
}

// result is one CLI run.
type result struct {
	code   int
	stdout string
	stderr string
}

// cli runs the real root command in this process with args, the daemon's
// socket in the environment and stdin (may be empty).
func (d *daemon) cli(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	return runCLI(t, d.env, stdin, args...)
}

func runCLI(t testing.TB, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	r := result{code: code, stdout: out.String(), stderr: errb.String()}
	checkStderr(t, r)
	return r
}

// checkStderr enforces the error contract on every run: errors are one
// line starting "batchhost: ", never a stack trace or usage dump.
func checkStderr(t testing.TB, r result) {
	t.Helper()
	for _, bad := range []string{"goroutine ", "panic:", "Usage:", "\tat "} {
		if strings.Contains(r.stderr, bad) {
			t.Fatalf("stderr has %q:\n%s", bad, r.stderr)
		}
	}
	if r.code != 0 && r.stderr != "" {
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		for _, l := range lines {
			if !strings.HasPrefix(l, "batchhost: ") {
				t.Fatalf("stderr line %q does not start with \"batchhost: \"\n%s", l, r.stderr)
			}
		}
	}
}

// ok runs a command that must succeed and returns its stdout.
func (d *daemon) ok(t testing.TB, args ...string) string {
	t.Helper()
	r := d.cli(t, "", args...)
	if r.code != 0 {
		t.Fatalf("batchhost %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs a command that must fail with code and a one-line error
// containing want.
func (d *daemon) fails(t testing.TB, code int, want string, args ...string) result {
	t.Helper()
	return expectFail(t, d.cli(t, "", args...), code, want, args)
}

func expectFail(t testing.TB, r result, code int, want string, args []string) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("batchhost %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("batchhost %s: stderr %q, want one line containing %q", strings.Join(args, " "), r.stderr, want)
	}
	return r
}

var idPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// id checks that out is one job or group id and returns it.
func id(t testing.TB, out string) string {
	t.Helper()
	s := strings.TrimSpace(out)
	if !idPattern.MatchString(s) {
		t.Fatalf("want an id, got %q", out)
	}
	return s
}

// decode parses JSON output into v, failing on anything else.
func decode(t testing.TB, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("output is not the expected JSON: %v\n%s", err, out)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("more than one JSON value in the output:\n%s", out)
	}
}

// jobJSON reads a job the way a script would: as a generic JSON object.
func jobJSON(t testing.TB, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, out)
	}
	return m
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitFor blocks until the job reaches state, woken by the host's events.
func (d *daemon) waitFor(t testing.TB, jobID string, state host.State) {
	t.Helper()
	ctx := ctxT(t)
	events := d.h.Subscribe(ctx, host.EventFilter{Jobs: []string{jobID}, Types: []host.EventType{host.EventJobState}})
	if j, err := d.h.Get(ctx, jobID); err != nil || j.State == state {
		return
	}
	for e := range events {
		if e.State == state {
			return
		}
	}
	t.Fatalf("job %s never reached %s", jobID, state)
}
