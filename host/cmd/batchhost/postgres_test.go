package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/internal/testbin"
	"github.com/batchhost/batchhost/internal/testpg"
)

// "migrate" brings a PostgreSQL queue's schema up, reports it and steps
// it down; bad actions and a missing database are usage errors.
func TestMigrateCommand(t *testing.T) {
	env := map[string]string{"HOME": t.TempDir(), databaseEnv: testpg.Database(t)}
	status := func() string {
		r := runCLI(t, env, "", "migrate", "status")
		if r.code != 0 {
			t.Fatalf("migrate status: exit %d: %s", r.code, r.stderr)
		}
		return r.stdout
	}
	if s := status(); !strings.Contains(s, "schema version 0") || !strings.Contains(s, "batchhost migrate up") {
		t.Fatalf("status of an empty database: %q", s)
	}
	if r := runCLI(t, env, "", "--json", "migrate", "up"); r.code != 0 {
		t.Fatalf("migrate up: exit %d: %s", r.code, r.stderr)
	} else {
		var st struct{ Current, Latest int }
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Current != st.Latest || st.Latest < 1 {
			t.Fatalf("migrate up --json: %q %v", r.stdout, err)
		}
	}
	if s := status(); !strings.Contains(s, "up to date") {
		t.Fatalf("status after up: %q", s)
	}
	if r := runCLI(t, env, "", "migrate", "down"); r.code != 0 || !strings.Contains(r.stdout, "pending") {
		t.Fatalf("migrate down: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	for _, bad := range [][]string{{"migrate"}, {"migrate", "sideways"}, {"migrate", "up", "down"}} {
		if r := runCLI(t, env, "", bad...); r.code != 2 {
			t.Errorf("batchhost %s: exit %d, want 2 (%s)", strings.Join(bad, " "), r.code, r.stderr)
		}
	}
	if r := runCLI(t, map[string]string{"HOME": t.TempDir()}, "", "migrate", "up"); r.code != 2 || !strings.Contains(r.stderr, "--database") {
		t.Errorf("migrate without a database: exit %d %q", r.code, r.stderr)
	}
}

// "hosts" lists the one daemon of an embedded queue, and the hosts
// registered in a shared one.
func TestHostsCommand(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		d := startDaemon(t, nil)
		out := d.ok(t, "hosts")
		if !strings.Contains(out, "leader") || !strings.Contains(out, " *") || !strings.Contains(out, "chaos.noop") {
			t.Fatalf("hosts of an embedded queue:\n%s", out)
		}
	})
	db := testpg.Database(t)
	if r := runCLI(t, map[string]string{"HOME": t.TempDir(), databaseEnv: db}, "", "migrate", "up"); r.code != 0 {
		t.Fatalf("migrate up: %s", r.stderr)
	}
	shared := startDaemon(t, func(c *host.Config) { c.Database = db; c.Version = "v9.9.9" })
	var hs []host.HostStatus
	if err := json.Unmarshal([]byte(shared.ok(t, "--json", "hosts")), &hs); err != nil {
		t.Fatal(err)
	}
	if len(hs) != 1 || !hs[0].Self || !hs[0].Alive || !hs[0].Leader || hs[0].Version != "v9.9.9" || hs[0].Slots != 4 {
		t.Fatalf("hosts of a shared queue: %+v", hs)
	}
}

// "bench --database" measures hosts whose queue is in PostgreSQL, each
// in a schema of its own that it drops afterwards.
func TestBenchOnDatabase(t *testing.T) {
	db := testpg.Database(t)
	r := runCLI(t, map[string]string{"HOME": t.TempDir(), databaseEnv: db}, "",
		"--json", "bench", "--jobs", "100", "--rounds", "1", "--samples", "10", "--plugin-dir", pluginDir)
	if r.code != 0 {
		t.Fatalf("bench --database: exit %d: %s", r.code, r.stderr)
	}
	var res benchResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.Backend != "postgres" || res.SubmitMany <= 0 || res.EndToEnd <= 0 || res.LatencyP50 <= 0 {
		t.Fatalf("bench --database: %+v", res)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var left int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'batchhost_bench%'").Scan(&left); err != nil || left != 0 {
		t.Fatalf("bench left %d schemas (%v)", left, err)
	}
	if r := runCLI(t, map[string]string{"HOME": t.TempDir()}, "", "bench", "--scale", "1000", "--database", db); r.code != 2 {
		t.Errorf("bench --scale --database: exit %d %s", r.code, r.stderr)
	}
}

// serve on a database it cannot use says why in one line, naming the fix,
// and exits 2.
func TestServeRefusesAnUnusableDatabase(t *testing.T) {
	unmigrated := testpg.Database(t)
	for _, tc := range []struct{ url, want string }{
		{unmigrated, "batchhost migrate up"},
		{"postgres://root@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", "127.0.0.1"},
		{"mysql://nope", "postgres"},
	} {
		dir := shortDir(t)
		r := runCLI(t, map[string]string{"HOME": t.TempDir()}, "", "--data-dir", dir, "serve", "--plugin-dir", pluginDir, "--database", tc.url)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("serve --database %s: exit %d, stderr %q; want exit 2, one line naming %q", tc.url, r.code, r.stderr, tc.want)
		}
	}
}

// cliHostAndRunner starts two hosts on one fresh PostgreSQL queue: a, a
// daemon for the CLI that dispatches nothing, and b, a started host with
// one worker that runs every job. (b closes first, without startDaemon's
// check for plugin processes, which then checks for both.)
func cliHostAndRunner(t *testing.T) (a *daemon, b *host.Host) {
	t.Helper()
	db := testpg.Database(t)
	if r := runCLI(t, map[string]string{"HOME": t.TempDir(), databaseEnv: db}, "", "migrate", "up"); r.code != 0 {
		t.Fatalf("migrate up: %s", r.stderr)
	}
	a = startDaemon(t, func(c *host.Config) { c.Database = db })
	ctx := context.Background()
	if err := a.h.PauseDispatch(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := host.Open(host.Config{DataDir: t.TempDir(), PluginDir: pluginDir, MaxWorkers: 1, KillGrace: time.Second, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// Pause, resume and cancel given to a CLI attached to one host reach a job
// that another host of the same PostgreSQL queue runs: its plugin process
// is stopped, continued, and its attempt ends canceled. The times each
// took are logged (the issue asks for under a second; tests do not
// assert on wall-clock speed).
func TestCLIRequestsReachAJobOnAnotherHost(t *testing.T) {
	a, b := cliHostAndRunner(t)
	ctx := context.Background()
	id, err := b.Submit(ctx, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 60000}})
	if err != nil {
		t.Fatal(err)
	}
	until := func(what string, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > 30*time.Second {
				t.Fatalf("%s: not after 30s", what)
			}
			time.Sleep(5 * time.Millisecond) // another process's state: /proc has no event
		}
		return time.Since(start)
	}
	stopped := func() bool {
		for _, p := range testbin.Descendants(os.Getpid()) {
			if p.Cmd == "batchhost-plugi" && p.State == "T" {
				return true
			}
		}
		return false
	}
	until("the job running on the other host", func() bool {
		j, err := b.Get(ctx, id)
		return err == nil && j.State == host.StateRunning
	})
	start := time.Now()
	a.ok(t, "pause", id[:23])
	paused := time.Since(start) + until("its process stopped after pause", stopped)
	start = time.Now()
	a.ok(t, "resume", id[:23])
	resumed := time.Since(start) + until("its process continued after resume", func() bool { return !stopped() })
	start = time.Now()
	a.ok(t, "cancel", id[:23])
	r := a.cli(t, "", "--json", "wait", id) // exit 1: the job did not complete
	canceled := time.Since(start)
	var js []host.Job
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || r.code != 1 || len(js) != 1 || js[0].State != host.StateCanceled || js[0].Attempt != 1 {
		t.Fatalf("job canceled through the other host: exit %d %s %v", r.code, r.stdout, err)
	}
	t.Logf("through another host: pause took effect after %s, resume after %s, cancel ended the attempt after %s",
		paused.Round(time.Millisecond), resumed.Round(time.Millisecond), canceled.Round(time.Millisecond))
}
