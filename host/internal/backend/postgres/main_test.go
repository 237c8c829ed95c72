package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batchhost/batchhost/internal/testpg"
)

// testDatabase creates a database of the test's own, dropped when the
// test ends, and answers its URL.
func testDatabase(t testing.TB) string { return testpg.Database(t) }

var schemaCounter atomic.Int64

// freshConfig is a Config for a new, migrated schema in the database at
// u.
func freshConfig(t testing.TB, u string) Config {
	t.Helper()
	// Small pools whose idle connections close soon: the random history
	// opens a store per history and leaves each open until the test
	// ends.
	cfg := Config{URL: u, Schema: fmt.Sprintf("s%d", schemaCounter.Add(1)), PoolSize: 4, IdleTimeout: 2 * time.Second}
	if _, err := Migrate(context.Background(), cfg, MigrateUp); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	return cfg
}

// openStore opens cfg's store, closed when the test ends.
func openStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// contains is strings.Contains for error messages.
func contains(err error, sub string) bool { return err != nil && strings.Contains(err.Error(), sub) }

// testConn is a connection of its own to cfg's schema, as the store's
// are (connect), closed when the test ends: to look at the tables
// beside the store.
func testConn(t testing.TB, cfg Config) *pgx.Conn {
	t.Helper()
	conn, err := connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
