package host_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/internal/testbin"
	"github.com/batchhost/batchhost/internal/testpg"
)

// pluginDir holds the real chaos plugin, built once for all tests.
var pluginDir string

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runHelperHost())
	}
	if testbin.FuzzWorker() {
		os.Exit(m.Run())
	}
	tmp, err := os.MkdirTemp("", "bh-host-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pluginDir, err = testbin.PluginDir(tmp, map[string]string{"chaos": testbin.Chaos, "exec": testbin.Exec})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// fastBackoff keeps retry tests quick without changing what they test.
var fastBackoff = &host.Backoff{Initial: 5 * time.Millisecond, Multiplier: 2, Max: 50 * time.Millisecond}

// openHost opens a host on a fresh data dir with the chaos plugin and
// closes it when the test ends, checking that no plugin process is left.
func openHost(t testing.TB, mod func(*host.Config)) (*host.Host, host.Config) {
	t.Helper()
	cfg := host.Config{
		DataDir:        t.TempDir(),
		PluginDir:      pluginDir,
		MaxWorkers:     4,
		KillGrace:      time.Second,
		DefaultBackoff: fastBackoff,
	}
	if os.Getenv(backendEnv) == "postgres" {
		cfg.Database = migratedDatabase(t)
	}
	if mod != nil {
		mod(&cfg)
	}
	h := reopen(t, cfg)
	return h, cfg
}

// backendEnv runs the host's tests on PostgreSQL when it says
// "postgres" (scripts/test.sh runs them on both backends): each test's
// host gets a database of its own.
const backendEnv = "BATCHHOST_TEST_BACKEND"

// migratedDatabase is a fresh database with the queue's schema, dropped
// when the test ends.
func migratedDatabase(t testing.TB) string {
	t.Helper()
	url := testpg.Database(t)
	if _, err := host.Migrate(context.Background(), host.Config{Database: url}, host.MigrateUp); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	return url
}

// reopen opens a host on cfg (an existing data dir) and starts it.
func reopen(t testing.TB, cfg host.Config) *host.Host {
	t.Helper()
	h, err := host.Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { closeHost(t, h) })
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return h
}

func closeHost(t testing.TB, h *host.Host) {
	t.Helper()
	if err := h.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if left := pluginProcs(); len(left) > 0 {
		t.Errorf("plugin processes left after Close: %+v", left)
	}
}

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
type recorder struct {
	ch <-chan host.Event
}

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

// stateEvent matches a job reaching a state.
func stateEvent(id string, s host.State) func(host.Event) bool {
	return func(e host.Event) bool { return e.Type == host.EventJobState && e.Job == id && e.State == s }
}

// runningOrder extracts the order in which jobs started.
func runningOrder(evs []host.Event) []string {
	var out []string
	for _, e := range evs {
		if e.Type == host.EventJobState && e.State == host.StateRunning && !slices.Contains(out, e.Job) {
			out = append(out, e.Job)
		}
	}
	return out
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// intervals returns when each job started running and when it left
// running, from state events.
func intervals(evs []host.Event) (start, end map[string]time.Time) {
	start, end = map[string]time.Time{}, map[string]time.Time{}
	for _, e := range evs {
		if e.Type != host.EventJobState {
			continue
		}
		if e.State == host.StateRunning {
			start[e.Job] = e.Time
		}
		if e.PrevState == host.StateRunning {
			end[e.Job] = e.Time
		}
	}
	return start, end
}
