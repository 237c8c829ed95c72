package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
	"github.com/batchhost/batchhost/internal/testbin"
)

// serveProc is "batchhost serve" running as a real subprocess.
type serveProc struct {
	cmd   *exec.Cmd
	lines chan string // its stderr, a line at a time; closed at EOF
	log   strings.Builder
}

// startServe runs the built binary's serve command and returns once it
// logged that it serves (read from its stderr: no sleeping, no polling).
func startServe(t testing.TB, env []string, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(batchhostBin, append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, lines: make(chan string, 1024)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	p.expect(t, "batchhost: serving")
	return p
}

// expect reads stderr lines until one contains want.
func (p *serveProc) expect(t testing.TB, want string) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("serve ended before logging %q:\n%s", want, p.log.String())
			}
			p.log.WriteString(l + "\n")
			if strings.Contains(l, want) {
				return
			}
		case <-timeout:
			t.Fatalf("serve did not log %q:\n%s", want, p.log.String())
		}
	}
}

// The daemon for real: flags and env configure it, the default plugin
// dir is plugins/ beside the executable, a second one on the same socket is
// refused, and SIGTERM drains a running job, stops the plugins and removes
// the socket.
func TestServeSubprocess(t *testing.T) {
	dataDir := t.TempDir()
	sock := filepath.Join(shortDir(t), "bh.sock")
	env := []string{"BATCHHOST_DATA_DIR=" + dataDir, "BATCHHOST_SOCKET=" + sock, "BATCHHOST_MAX_WORKERS=3", "BATCHHOST_PLUGIN_DIR="}
	p := startServe(t, env, "--drain-timeout", "30s", "--limit", "chaos.sleep=2")
	cli := map[string]string{"BATCHHOST_SOCKET": sock}

	r := runCLI(t, cli, "", "tasks")
	if r.code != 0 || !strings.Contains(r.stdout, "chaos.sleep") {
		t.Fatalf("tasks from the default plugin dir: %+v\n%s", r, p.log.String())
	}
	r = runCLI(t, cli, "", "--json", "stats")
	if r.code != 0 || !strings.Contains(r.stdout, `"max_workers": 3`) {
		t.Fatalf("BATCHHOST_MAX_WORKERS not applied: %+v", r)
	}
	// A second daemon on the same socket is refused, exit 1.
	second := exec.Command(batchhostBin, "serve", "--data-dir", t.TempDir())
	second.Env = append(os.Environ(), "BATCHHOST_SOCKET="+sock)
	out, err := second.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.HasSuffix(string(out), "batchhost: batchhost is already running at "+sock+"\n") {
		t.Fatalf("second serve: %v\n%s", err, out)
	}

	jid := id(t, runCLI(t, cli, "", "submit", "chaos.sleep", "--args", `{"ms":1500}`).stdout)
	c, err := control.Dial(ctxT(t), sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w, err := c.Watch(ctxT(t), host.EventFilter{Jobs: []string{jid}, Types: []host.EventType{host.EventJobState}})
	if err != nil {
		t.Fatal(err)
	}
	if j, _ := c.Get(ctxT(t), jid); j.State != host.StateRunning {
		for e, err := w.Recv(); e.State != host.StateRunning; e, err = w.Recv() {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	w.Close()
	plugins := testbin.Descendants(p.cmd.Process.Pid)
	if len(plugins) == 0 {
		t.Fatal("no plugin process under the running daemon")
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.expect(t, "stopping")
	p.expect(t, "batchhost: stopped")
	for range p.lines {
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, p.log.String())
	}
	for _, pr := range plugins {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pr.PID) + "/stat"); err == nil && !strings.Contains(string(b), ") Z ") {
			t.Errorf("plugin %d outlived the daemon: %s", pr.PID, b)
		}
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind: %v", err)
	}
	r = runCLI(t, cli, "", "stats")
	expectFail(t, r, 2, `no host is running at `+sock+` (start one with "batchhost serve")`, []string{"stats"})

	// The drain let the running job finish.
	h, err := host.Open(host.Config{DataDir: dataDir, PluginDir: pluginDir})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if j, err := h.Get(context.Background(), jid); err != nil || j.State != host.StateCompleted || len(j.Attempts) != 1 {
		t.Fatalf("after a drained stop the job is %+v, %v", j, err)
	}
}

// serve in this process: a cancelled context stands in for the signal.
func TestServeInProcess(t *testing.T) {
	dataDir := t.TempDir()
	sock := filepath.Join(shortDir(t), "bh.sock")
	env := map[string]string{"BATCHHOST_DATA_DIR": dataDir, "BATCHHOST_SOCKET": sock, "BATCHHOST_PLUGIN_DIR": pluginDir, "BATCHHOST_LIMITS": "chaos.nothing=2",
		"BATCHHOST_RATES": "chaos.echo=1/s", "BATCHHOST_MAX_WORKERS": "8"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		defer pw.Close()
		done <- run(ctx, []string{"serve", "--max-workers", "2", "--rate", "chaos.noop=1/h", "--rate", "chaos.nothing=2/m,chaos.sleep=5/s:2"},
			strings.NewReader(""), io.Discard, pw, func(k string) string { return env[k] })
	}()
	sc := bufio.NewScanner(pr)
	var logged strings.Builder
	for !strings.Contains(logged.String(), "batchhost: serving") && sc.Scan() {
		logged.WriteString(sc.Text() + "\n")
	}
	go io.Copy(io.Discard, pr)
	for _, warn := range []string{`[WARN]  batchhost: config: limit for "chaos.nothing" matches no loaded task or plugin`,
		`[WARN]  batchhost: config: rate for "chaos.nothing" matches no loaded task or plugin`} {
		if !strings.Contains(logged.String(), warn) {
			t.Fatalf("no warning %q:\n%s", warn, logged.String())
		}
	}
	c, err := control.Dial(ctxT(t), sock)
	if err != nil {
		t.Fatalf("dial: %v\n%s", err, logged.String())
	}
	defer c.Close()
	// The --rate flags replace BATCHHOST_RATES: chaos.noop is rated,
	// chaos.echo is not.
	ctx2 := ctxT(t)
	ids, err := c.SubmitMany(ctx2, []host.JobSpec{{Task: "chaos.noop"}, {Task: "chaos.echo"}, {Task: "chaos.echo"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, jid := range ids {
		if _, err := c.Wait(ctx2, jid); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Stats(ctx2)
	if err != nil || s.MaxWorkers != 2 {
		t.Fatalf("stats %+v, %v (flags override env and defaults)", s, err)
	}
	if len(s.Throttled) != 1 || s.Throttled[0].Name != "chaos.noop" {
		t.Fatalf("throttled %+v, want chaos.noop only (--rate given overrides BATCHHOST_RATES)", s.Throttled)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exit %d\n%s", code, logged.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestServeBadConfiguration(t *testing.T) {
	sock := filepath.Join(shortDir(t), "bh.sock")
	base := map[string]string{"BATCHHOST_DATA_DIR": t.TempDir(), "BATCHHOST_SOCKET": sock, "BATCHHOST_PLUGIN_DIR": pluginDir}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for a, b := range base {
			if _, ok := m[a]; !ok {
				m[a] = b
			}
		}
		return m
	}
	for _, tc := range []struct {
		env  map[string]string
		args []string
		code int
		want string
	}{
		{with("BATCHHOST_MAX_WORKERS", "many"), nil, 2, `invalid BATCHHOST_MAX_WORKERS="many"`},
		{with("BATCHHOST_POLL_INTERVAL", "5"), nil, 2, `invalid BATCHHOST_POLL_INTERVAL="5": invalid argument "5" for "--poll-interval" flag: time: missing unit`},
		{base, []string{"--limit", "chaos.sleep"}, 2, `want TASK=N or PLUGIN=N`},
		{base, []string{"--rate", "chaos.sleep"}, 2, `invalid argument "chaos.sleep" for "--rate" flag: rate "chaos.sleep": want TASK=RATE or PLUGIN=RATE`},
		{base, []string{"--rate", "chaos.sleep=fast"}, 2, `chaos.sleep: rate "fast": no /UNIT (want COUNT/UNIT[:BURST]`},
		{base, []string{"--rate", "chaos.noop=1/s,=2/s"}, 2, `rate "=2/s": want TASK=RATE`},
		{with("BATCHHOST_RATES", "chaos.noop=0/s"), nil, 2, `invalid BATCHHOST_RATES="chaos.noop=0/s": invalid argument "chaos.noop=0/s" for "--rate" flag: chaos.noop: rate "0/s": count "0" is not a number above 0`},
		{base, []string{"--plugin-memory-limit", "lots"}, 2, `want a byte size like 512M`},
		{base, []string{"--log-level", "loud"}, 2, `invalid --log-level "loud"`},
		// Out of range: usage errors naming the flag or variable.
		{base, []string{"--max-workers", "-1"}, 2, `invalid --max-workers -1: must not be negative`},
		{base, []string{"--max-workers", "5000"}, 2, `invalid --max-workers 5000: at most 4096`},
		{base, []string{"--max-queue-size", "-1"}, 2, `invalid --max-queue-size -1: must not be negative`},
		{base, []string{"--retention", "-1h"}, 2, `invalid --retention -1h0m0s: must not be negative`},
		{base, []string{"--default-timeout", "-1s"}, 2, `invalid --default-timeout -1s: must not be negative`},
		{base, []string{"--default-max-attempts", "-3"}, 2, `invalid --default-max-attempts -3: must not be negative`},
		{base, []string{"--kill-grace", "-1s"}, 2, `invalid --kill-grace -1s: must not be negative`},
		{base, []string{"--plugin-idle-timeout", "-1m"}, 2, `invalid --plugin-idle-timeout -1m0s: must not be negative`},
		{base, []string{"--poll-interval", "10us"}, 2, `invalid --poll-interval 10µs: at least 1ms`},
		{with("BATCHHOST_KILL_GRACE", "-2s"), nil, 2, `invalid BATCHHOST_KILL_GRACE="-2s": must not be negative`},
		{with("BATCHHOST_MAX_QUEUE_SIZE", "-5"), []string{"--max-queue-size", "-6"}, 2, `invalid --max-queue-size -6: must not be negative`},
		// Tracing's standard variables.
		{with("OTEL_EXPORTER_OTLP_ENDPOINT", "127.0.0.1:4317"), nil, 2, `invalid OTEL_EXPORTER_OTLP_ENDPOINT="127.0.0.1:4317": want the collector's OTLP gRPC address as http://HOST:PORT`},
		{with("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://"), nil, 2, `invalid OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://"`},
		{with("OTEL_TRACES_EXPORTER", "zipkin"), nil, 2, `invalid OTEL_TRACES_EXPORTER="zipkin": batchhost exports traces only with otlp`},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
			"BATCHHOST_DATA_DIR": base["BATCHHOST_DATA_DIR"], "BATCHHOST_SOCKET": sock, "BATCHHOST_PLUGIN_DIR": pluginDir},
			nil, 2, `invalid OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf": batchhost exports traces over OTLP gRPC only`},
	} {
		r := runCLI(t, tc.env, "", append([]string{"serve"}, tc.args...)...)
		expectFail(t, r, tc.code, tc.want, tc.args)
	}
	// None of them left anything behind: no data dir, no socket, no lock.
	dataDir := filepath.Join(t.TempDir(), "data")
	sockDir := filepath.Join(shortDir(t), "run")
	env := map[string]string{"BATCHHOST_DATA_DIR": dataDir, "BATCHHOST_SOCKET": filepath.Join(sockDir, "bh.sock"), "BATCHHOST_PLUGIN_DIR": pluginDir}
	for _, args := range [][]string{{"--max-workers", "-1"}, {"--retention", "-1h"}, {"--poll-interval", "1ns"}} {
		r := runCLI(t, env, "", append([]string{"serve"}, args...)...)
		expectFail(t, r, 2, "invalid --", args)
		for _, dir := range []string{dataDir, sockDir} {
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("serve %v left %s behind: %v", args, dir, err)
			}
		}
	}
}
