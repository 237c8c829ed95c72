package postgres

import (
	"context"
	"testing"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// TestMigrate: up creates the schema and is idempotent, status reports
// without changing, down removes what up made, and up again restores a
// working store.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	cfg := Config{URL: testDatabase(t), Schema: "migrated"}
	latest := SchemaVersion()
	if latest < 1 {
		t.Fatalf("SchemaVersion() = %d: no embedded migrations", latest)
	}
	st, err := Migrate(ctx, cfg, MigrateStatus)
	if err != nil || st.Current != 0 || st.Latest != latest {
		t.Fatalf("status of an empty database = %+v, %v; want current 0, latest %d", st, err, latest)
	}
	for range 2 {
		if st, err = Migrate(ctx, cfg, MigrateUp); err != nil || st.Current != latest {
			t.Fatalf("up = %+v, %v; want current %d", st, err, latest)
		}
	}
	s := openStore(t, cfg)
	if _, err := s.Insert(ctx, backend.InsertParams{Jobs: []*model.Job{{ID: "00000000-0000-7000-8000-000000000001", Task: "a.b"}}}); err != nil {
		t.Fatalf("Insert after up: %v", err)
	}
	s.Close()
	for v := latest; v > 0; v-- {
		if st, err = Migrate(ctx, cfg, MigrateDown); err != nil || st.Current != v-1 {
			t.Fatalf("down from %d = %+v, %v; want current %d", v, st, err, v-1)
		}
	}
	if tables := tableCount(t, cfg); tables != 1 {
		t.Errorf("after every down the schema holds %d tables, want only schema_version", tables)
	}
	if st, err = Migrate(ctx, cfg, MigrateDown); err != nil || st.Current != 0 {
		t.Errorf("down with nothing applied = %+v, %v; want a no-op", st, err)
	}
	if _, err = Migrate(ctx, cfg, "sideways"); !contains(err, "unknown action") {
		t.Errorf("Migrate(sideways) = %v, want an unknown action error", err)
	}
	if st, err = Migrate(ctx, cfg, MigrateUp); err != nil || st.Current != latest {
		t.Fatalf("up again = %+v, %v", st, err)
	}
	s = openStore(t, cfg)
	if c, err := s.Counts(ctx); err != nil || len(c) != 0 {
		t.Errorf("Counts after down and up = %v, %v; want an empty store", c, err)
	}
}

func tableCount(t *testing.T, cfg Config) int {
	t.Helper()
	ctx := context.Background()
	conn := testConn(t, cfg)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = $1", cfg.Schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOpenRefusesOtherSchemaVersions: Open refuses a database without
// the schema, with an older one and with a newer one, each time naming
// the fix; with Config.Migrate it brings an older one up itself.
func TestOpenRefusesOtherSchemaVersions(t *testing.T) {
	ctx := context.Background()
	cfg := Config{URL: testDatabase(t), Schema: "versions"}
	if _, err := Open(ctx, cfg); !contains(err, "run `batchhost migrate up`") {
		t.Errorf("Open of a database without the schema = %v, want an error saying to run `batchhost migrate up`", err)
	}
	if _, err := Migrate(ctx, cfg, MigrateUp); err != nil {
		t.Fatal(err)
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		conn, err := connect(ctx, mustDefaults(t, cfg))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	latest := SchemaVersion()
	exec("INSERT INTO schema_version (version) VALUES ($1)", latest+1)
	if _, err := Open(ctx, cfg); !contains(err, "newer than this build") {
		t.Errorf("Open of a newer schema = %v, want an error saying it is newer", err)
	}
	if _, err := Migrate(ctx, cfg, MigrateUp); err == nil {
		t.Errorf("Migrate up of a newer schema succeeded")
	}
	exec("DELETE FROM schema_version")
	exec("INSERT INTO schema_version (version) VALUES (0)")
	if _, err := Open(ctx, cfg); !contains(err, "run `batchhost migrate up`") {
		t.Errorf("Open of an older schema = %v, want an error saying to run `batchhost migrate up`", err)
	}
	exec("DELETE FROM schema_version")
	exec("INSERT INTO schema_version (version) VALUES ($1)", latest)
	cfg.Migrate = true
	openStore(t, cfg)
}

func mustDefaults(t *testing.T, cfg Config) Config {
	t.Helper()
	c, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return c
}
