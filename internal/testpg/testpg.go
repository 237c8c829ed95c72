// Package testpg gives tests a PostgreSQL database of their own: it finds
// the server (starting the machine's cluster when it is down), creates a
// fresh database, and drops it when the test ends. A test that cannot
// reach a server fails: the PostgreSQL paths are not tested otherwise.
package testpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URLEnv names the server the tests use: a URL of a database the user
// may create databases from.
const URLEnv = "BATCHHOST_TEST_DATABASE_URL"

const defaultURL = "postgres://root@127.0.0.1:5432/postgres?sslmode=disable"

var (
	serverOnce sync.Once
	serverErr  error
)

// AdminURL is the server's URL, the server started first if it is down
// and this machine has a cluster to start.
func AdminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(URLEnv)
	if u == "" {
		u = defaultURL
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

// startCluster starts the machine's PostgreSQL cluster (Debian's layout:
// /etc/postgresql/<version>/main) and waits until it accepts connections.
func startCluster() ([]byte, error) {
	vs, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(vs) == 0 {
		return nil, fmt.Errorf("no cluster under /etc/postgresql: %v", err)
	}
	return exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", vs[0].Name(), "main", "start").CombinedOutput()
}

// Database creates a database of the test's own, dropped (with whatever
// connections are left) when the test ends, and answers its URL.
func Database(t testing.TB) string {
	t.Helper()
	admin := AdminURL(t)
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
	pu, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", URLEnv, err)
	}
	pu.Path = "/" + name
	return pu.String()
}
