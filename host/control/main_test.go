package control_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
	"github.com/batchhost/batchhost/internal/testbin"
)

// pluginDir holds the real chaos plugin, built once for all tests.
var pluginDir string

func TestMain(m *testing.M) {
	if testbin.FuzzWorker() {
		os.Exit(m.Run())
	}
	tmp, err := os.MkdirTemp("", "bh-control-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pluginDir, err = testbin.PluginDir(tmp, map[string]string{"chaos": testbin.Chaos})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// sockDir returns a fresh short directory for a socket: t.TempDir paths
// can exceed the 108-byte limit of unix socket addresses.
func sockDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "bh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

type fixture struct {
	h    *host.Host
	srv  *control.Server
	c    *control.Client
	sock string
}

// serve opens a started host with the chaos plugin, serves it on a fresh
// socket and dials it. Cleanup stops all of it and checks that no plugin
// process is left.
func serve(t testing.TB, mod func(*host.Config)) *fixture {
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
	sock := filepath.Join(sockDir(t), "bh.sock")
	l, err := control.Listen(sock)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	srv := control.Serve(h, l)
	c, err := control.Dial(ctxT(t), sock)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		srv.Stop()
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if left := testbin.Descendants(os.Getpid()); len(left) > 0 {
			t.Errorf("processes left after Close: %+v", left)
		}
	})
	return &fixture{h: h, srv: srv, c: c, sock: sock}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
