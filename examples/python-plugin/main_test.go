package pythonplugin_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/internal/testbin"
)

// python is the interpreter the plugins' shebangs name: Debian's, for
// which python3-grpcio and python3-protobuf install.
const python = "/usr/bin/python3"

var (
	// pluginDir holds the Python plugins (textstats, pychaos) and the Go
	// chaos plugin, for benchmarks that compare them.
	pluginDir string
	// pyDir holds only the Python plugins.
	pyDir string
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runHelperHost())
	}
	if err := checkPython(); err != nil {
		fmt.Fprintln(os.Stderr, "pythonplugin:", err)
		os.Exit(2)
	}
	tmp, err := os.MkdirTemp("", "bh-py-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := func() int {
		defer os.RemoveAll(tmp)
		if pyDir, err = pythonPluginDir(tmp); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if pluginDir, err = pythonPluginDir(tmp); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if _, err := testbin.Build(pluginDir, "batchhost-plugin-chaos", testbin.Chaos); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		return m.Run()
	}()
	os.Exit(code)
}

// checkPython fails the tests (never skips them) when the plugins'
// interpreter lacks the packages the SDK needs.
func checkPython() error {
	out, err := exec.Command(python, "-c", "import grpc, google.protobuf").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s cannot import grpc and google.protobuf (%v: %s): install Debian's python3-grpcio and python3-protobuf (scripts/test.sh does)",
			python, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// pythonPluginDir makes a plugin dir with symlinks to the Python plugins'
// executables in this repository, as a user would install them.
func pythonPluginDir(parent string) (string, error) {
	dir, err := os.MkdirTemp(parent, "plugins-")
	if err != nil {
		return "", err
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for _, p := range []string{"batchhost-plugin-textstats", "testdata/batchhost-plugin-pychaos"} {
		if err := os.Symlink(filepath.Join(wd, p), filepath.Join(dir, filepath.Base(p))); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// fastBackoff keeps retry tests quick without changing what they test.
var fastBackoff = &host.Backoff{Initial: 5 * time.Millisecond, Multiplier: 2, Max: 50 * time.Millisecond}

// openHost opens and starts a host on a fresh data dir with the Python
// plugins, and closes it when the test ends, checking that no plugin
// process is left.
func openHost(t testing.TB, mod func(*host.Config)) *host.Host {
	t.Helper()
	cfg := host.Config{
		DataDir:        t.TempDir(),
		PluginDir:      pyDir,
		MaxWorkers:     2,
		KillGrace:      2 * time.Second,
		DefaultBackoff: fastBackoff,
	}
	if mod != nil {
		mod(&cfg)
	}
	h, err := host.Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if left := pluginProcs(); len(left) > 0 {
			t.Errorf("plugin processes left after Close: %+v", left)
		}
	})
	if probs := h.Problems(); len(probs) > 0 {
		t.Fatalf("plugins not loaded: %v", probs)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return h
}

// pluginProcs lists this test's live child processes other than the go
// tool: plugin processes.
func pluginProcs() []testbin.Proc {
	var out []testbin.Proc
	for _, p := range testbin.Descendants(os.Getpid()) {
		if p.Cmd != "go" {
			out = append(out, p)
		}
	}
	return out
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func submit(t testing.TB, h *host.Host, spec host.JobSpec) string {
	t.Helper()
	id, err := h.Submit(ctxT(t), spec)
	if err != nil {
		t.Fatalf("Submit %s: %v", spec.Task, err)
	}
	return id
}

func wait(t testing.TB, h *host.Host, id string) *host.Job {
	t.Helper()
	j, err := h.Wait(ctxT(t), id)
	if err != nil {
		t.Fatalf("Wait %s: %v", id, err)
	}
	return j
}

// recorder collects events from a subscription opened before the work
// starts, so nothing is missed.
type recorder struct{ ch <-chan host.Event }

func record(t testing.TB, h *host.Host, f host.EventFilter) *recorder {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &recorder{ch: h.Subscribe(ctx, f)}
}

// until reads events until stop returns true for one, and returns all read.
func (r *recorder) until(t testing.TB, stop func(host.Event) bool) []host.Event {
	t.Helper()
	var got []host.Event
	deadline := time.After(60 * time.Second)
	for {
		select {
		case e, ok := <-r.ch:
			if !ok {
				t.Fatal("event stream closed")
			}
			if e.Type == host.EventLagged {
				t.Fatalf("subscriber lagged: %d events dropped", e.Dropped)
			}
			got = append(got, e)
			if stop(e) {
				return got
			}
		case <-deadline:
			t.Fatalf("timed out waiting for an event; got %d", len(got))
		}
	}
}

func stateEvent(id string, s host.State) func(host.Event) bool {
	return func(e host.Event) bool { return e.Type == host.EventJobState && e.Job == id && e.State == s }
}

// procsByEnv waits until exactly n live processes carry the tag kv in
// their environment and returns them.
func procsByEnv(t testing.TB, kv string, n int) []testbin.Proc {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ps := testbin.FindByEnv(kv)
		if len(ps) == n {
			return ps
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d processes tagged %s, found %+v", n, kv, ps)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
