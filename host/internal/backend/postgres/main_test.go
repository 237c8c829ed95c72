package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URLEnv names the server the tests use: a URL of a database the user
// may create databases from. The tests create a database of their own
// in it and drop it after.
const URLEnv = "BATCHHOST_TEST_DATABASE_URL"

const defaultTestURL = "postgres://root@127.0.0.1:5432/postgres?sslmode=disable"

var (
	serverOnce sync.Once
	serverErr  error
)

// adminURL is the server's URL, the server started first if it is down
// and this machine has a cluster to start. A test that cannot reach a
// server fails: the backend is not tested otherwise.
func adminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(URLEnv)
	if u == "" {
		u = defaultTestURL
	}
	serverOnce.Do(func() {
		if serverErr = ping(u); serverErr == nil {
			return
		}
		out, err := startCluster()
		if err != nil {
			serverErr = fmt.Errorf("%v; starting the local cluster failed too: %v %s", serverErr, err, out)
			return
		}
		serverErr = ping(u)
	})
	if serverErr != nil {
		t.Fatalf("no PostgreSQL server at %s (set %s to one whose user may create databases): %v", u, URLEnv, serverErr)
	}
	return u
}

func ping(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

// startCluster starts the machine's PostgreSQL cluster (Debian's
// layout: /etc/postgresql/<version>/main) and waits until it accepts
// connections.
func startCluster() ([]byte, error) {
	vs, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(vs) == 0 {
		return nil, fmt.Errorf("no cluster under /etc/postgresql: %v", err)
	}
	return exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", vs[0].Name(), "main", "start").CombinedOutput()
}

// withDatabase answers u naming database db instead.
func withDatabase(t testing.TB, u, db string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatalf("%s: %v", URLEnv, err)
	}
	pu.Path = "/" + db
	return pu.String()
}

// testDatabase creates a database of the test's own, dropped (with
// whatever connections are left) when the test ends, and answers its
// URL.
func testDatabase(t testing.TB) string {
	t.Helper()
	admin := adminURL(t)
	b := make([]byte, 6)
	rand.Read(b)
	name := "batchhost_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(t, admin, name)
}

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
