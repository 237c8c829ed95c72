package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/internal/testpg"
)

// These tests always use PostgreSQL (the rest of the host's tests do when
// BATCHHOST_TEST_BACKEND=postgres): a host keeps its queue in the
// database when Config.Database is set.

// A host on PostgreSQL runs jobs through real plugins, and a host opened
// again on the same database finds them as they were.
func TestHostOnPostgresRunsJobsAndKeepsThem(t *testing.T) {
	db := migratedDatabase(t)
	h, cfg := openHost(t, func(c *host.Config) { c.Database = db })
	ctx := ctxT(t)
	done := submit(t, h, host.JobSpec{Task: "chaos.echo", Args: map[string]string{"hello": "pg"}})
	var out map[string]string
	if j := wait(t, h, done); j.State != host.StateCompleted || json.Unmarshal(j.Result, &out) != nil || out["hello"] != "pg" {
		t.Fatalf("echo on postgres: %s %s %+v", j.State, j.Result, j.Error)
	}
	g, err := h.CreateGroup(ctx, host.GroupSpec{Name: "pg", Sequential: true})
	if err != nil {
		t.Fatal(err)
	}
	a := submit(t, h, host.JobSpec{Task: "chaos.noop", Group: g})
	b := submit(t, h, host.JobSpec{Task: "chaos.noop", Group: g})
	wait(t, h, b)
	gr, err := h.WaitGroup(ctx, g)
	if err != nil || !gr.Done || gr.Outcome != "completed" || len(gr.Jobs) != 2 || gr.Jobs[0] != a {
		t.Fatalf("group on postgres: %+v %v", gr, err)
	}
	if err := h.PauseDispatch(ctx); err != nil {
		t.Fatal(err)
	}
	held := submit(t, h, host.JobSpec{Task: "chaos.noop"})
	closeHost(t, h)

	// A second host, a new data dir for its logs: the queue is the
	// database's.
	cfg.DataDir = t.TempDir()
	h2 := reopen(t, cfg)
	if j := wait(t, h2, held); j.State != host.StateCompleted {
		t.Fatalf("job queued before the restart: %s", j.State)
	}
	if j, err := h2.Get(ctx, done); err != nil || j.State != host.StateCompleted {
		t.Fatalf("job done before the restart: %+v %v", j, err)
	}
	id, err := h2.ResolveJobID(ctx, done[:23])
	if err != nil || id != done {
		t.Fatalf("prefix %s on postgres: %s %v", done[:23], id, err)
	}
	st, err := h2.Stats(ctx)
	if err != nil || st.Counts[host.StateCompleted] != 4 {
		t.Fatalf("stats on postgres: %+v %v", st, err)
	}
}

// A host refuses a database whose schema is not this build's, naming the
// command that fixes it; Migrate brings it up, reports, and steps down.
func TestHostRefusesAnUnmigratedDatabase(t *testing.T) {
	db := testpg.Database(t)
	cfg := host.Config{DataDir: t.TempDir(), PluginDir: pluginDir, Database: db}
	if h, err := host.Open(cfg); err == nil {
		h.Close()
		t.Fatal("Open on an empty database succeeded")
	} else if !strings.Contains(err.Error(), "batchhost migrate up") {
		t.Fatalf("Open on an empty database: %v (want the fix named)", err)
	}
	ctx := context.Background()
	st, err := host.Migrate(ctx, cfg, host.MigrateStatus)
	if err != nil || st.Current != 0 || st.Latest < 1 {
		t.Fatalf("status before: %+v %v", st, err)
	}
	if st, err = host.Migrate(ctx, cfg, host.MigrateUp); err != nil || st.Current != st.Latest {
		t.Fatalf("up: %+v %v", st, err)
	}
	h, err := host.Open(cfg)
	if err != nil {
		t.Fatalf("Open after migrate up: %v", err)
	}
	closeHost(t, h)
	if st, err = host.Migrate(ctx, cfg, host.MigrateDown); err != nil || st.Current != st.Latest-1 {
		t.Fatalf("down: %+v %v", st, err)
	}
	if h, err := host.Open(cfg); err == nil {
		h.Close()
		t.Fatal("Open on an older schema succeeded")
	} else if !strings.Contains(err.Error(), "batchhost migrate up") {
		t.Fatalf("Open on an older schema: %v", err)
	}
	for _, bad := range []struct {
		cfg    host.Config
		action string
	}{
		{cfg, "sideways"},
		{host.Config{}, host.MigrateUp},
	} {
		if _, err := host.Migrate(ctx, bad.cfg, bad.action); !errors.Is(err, host.ErrInvalid) {
			t.Errorf("Migrate(%q, %q): %v, want ErrInvalid", bad.cfg.Database, bad.action, err)
		}
	}
}

// Two hosts share one queue: each claims only the tasks its plugins
// serve, so a job of a task one host lacks waits for the other instead
// of failing as unknown there, and both see every job.
func TestTwoHostsShareOneQueue(t *testing.T) {
	db := migratedDatabase(t)
	onlyChaos := t.TempDir()
	linkPlugin(t, onlyChaos, "chaos")
	a, _ := openHost(t, func(c *host.Config) { c.Database = db; c.PluginDir = onlyChaos })
	ctx := ctxT(t)
	// Host a has no exec plugin: it refuses the submit itself...
	if _, err := a.Submit(ctx, host.JobSpec{Task: "exec.run", Args: map[string]any{"argv": []string{"true"}}}); !errors.Is(err, host.ErrUnknownTask) {
		t.Fatalf("submit of a task host a lacks: %v", err)
	}
	// ...but a job another host submitted waits for a host that has it.
	// (Host b is closed first, without openHost's check for plugin
	// processes: host a's are still there until its own close.)
	b, err := host.Open(host.Config{DataDir: t.TempDir(), PluginDir: pluginDir, MaxWorkers: 2, KillGrace: time.Second, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	run := submit(t, b, host.JobSpec{Task: "exec.run", Args: map[string]any{"argv": []string{"true"}}})
	noop := submit(t, a, host.JobSpec{Task: "chaos.noop"})
	if j := wait(t, a, noop); j.State != host.StateCompleted {
		t.Fatalf("noop on host a: %s", j.State)
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if j, err := a.Get(ctx, run); err != nil || j.State != host.StateQueued {
			t.Fatalf("exec job while only host a dispatches: %+v %v", j, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if j := wait(t, a, run); j.State != host.StateCompleted {
		t.Fatalf("exec job once host b dispatches: %s %+v", j.State, j.Error)
	}
}

// linkPlugin copies one plugin of the test's plugin dir into dir, for a
// host that serves only its tasks.
func linkPlugin(t testing.TB, dir, name string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(pluginDir, "batchhost-plugin-"+name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "batchhost-plugin-"+name), data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// A host killed with SIGKILL while its attempt runs stops heartbeating;
// once its registration expires, the leader among the hosts left rescues
// the attempt (recorded interrupted) and the job runs again there.
func TestLeaderRescuesTheAttemptOfAKilledHost(t *testing.T) {
	db := migratedDatabase(t)
	const ttl = time.Second
	tag := fmt.Sprintf("BH_TEST_TAG=%d", rand.Int64())
	a := startHelper(t, helperSpec{DataDir: t.TempDir(), PluginDir: pluginDir, Tag: tag, Workers: 1, Database: db, LeaseTTL: ttl,
		Jobs: []helperJob{{Task: "chaos.sleep", Args: map[string]any{"ms": 4000}}}})
	id := a.ids[0]
	b, _ := openHost(t, func(c *host.Config) { c.Database = db; c.LeaseTTL = ttl; c.MaxWorkers = 1 })
	ctx := ctxT(t)
	// Host b may not take the job from a: wait until a runs it.
	rec := record(t, b, host.EventFilter{Jobs: []string{id}})
	for {
		j, err := b.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == host.StateRunning {
			break
		}
		if j.State != host.StateQueued {
			t.Fatalf("job before the kill: %s", j.State)
		}
		time.Sleep(20 * time.Millisecond) // host a's claim is told to host a only
	}
	a.killAfter(t, 0, tag)
	rec.until(t, stateEvent(id, host.StateCompleted))
	j := wait(t, b, id)
	if j.State != host.StateCompleted || len(j.Attempts) != 2 || j.Attempts[0].Error == nil || j.Attempts[0].Error.Kind != "interrupted" {
		t.Fatalf("rescued job: %s, attempts %+v", j.State, j.Attempts)
	}
}

// A request made on one host reaches the attempt another host runs: the
// database records it, and the running host reads it when it is told of
// the change.
func TestRequestsReachAnAttemptOnAnotherHost(t *testing.T) {
	db := migratedDatabase(t)
	runner, _ := openHost(t, func(c *host.Config) { c.Database = db })
	ctx := ctxT(t)
	rec := record(t, runner, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	id := submit(t, runner, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 60000}})
	rec.until(t, stateEvent(id, host.StateRunning))
	// The other host dispatches nothing: it only asks.
	other, err := host.Open(host.Config{DataDir: t.TempDir(), PluginDir: pluginDir, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	if err := other.Pause(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := other.Resume(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := other.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	j := wait(t, other, id)
	if j.State != host.StateCanceled || j.Attempt != 1 {
		t.Fatalf("job canceled from another host: %s after %d attempts, %+v", j.State, j.Attempt, j.Error)
	}
}
