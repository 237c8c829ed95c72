package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/batchhost/batchhost/host"
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
