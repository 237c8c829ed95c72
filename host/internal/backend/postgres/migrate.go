package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one schema version: the SQL that makes it and the SQL
// that undoes it.
type migration struct {
	version  int
	up, down string
}

// migrations lists the embedded migrations in version order; a file
// name is NNNN_name.up.sql or NNNN_name.down.sql.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	byVersion := map[int]*migration{}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: name does not start with a version", base)
		}
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		m := byVersion[v]
		if m == nil {
			m = &migration{version: v}
			byVersion[v] = m
		}
		switch {
		case strings.HasSuffix(base, ".up.sql"):
			m.up = string(b)
		case strings.HasSuffix(base, ".down.sql"):
			m.down = string(b)
		}
	}
	out := make([]migration, 0, len(byVersion))
	for _, m := range byVersion {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// SchemaVersion is the version of the schema this build reads and
// writes: Open refuses any other.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// MigrationStatus is where a database's schema stands.
type MigrationStatus struct {
	// Current is the version applied (0: none).
	Current int
	// Latest is the version this build knows.
	Latest int
}

func (s MigrationStatus) String() string {
	switch {
	case s.Current == s.Latest:
		return fmt.Sprintf("schema version %d, up to date", s.Current)
	case s.Current < s.Latest:
		return fmt.Sprintf("schema version %d, %d pending (run `batchhost migrate up`)", s.Current, s.Latest-s.Current)
	}
	return fmt.Sprintf("schema version %d is newer than this build's %d", s.Current, s.Latest)
}

// The actions of Migrate.
const (
	MigrateUp     = "up"     // apply every pending migration
	MigrateDown   = "down"   // undo the last applied migration
	MigrateStatus = "status" // change nothing; report where the schema stands
)

// migrateLock is the advisory lock key migrations hold, so that hosts
// starting at once apply each migration once.
const migrateLock = 0x62686d67 // "bhmg"

// Migrate applies (up), undoes one step of (down) or reports (status) the
// schema of the database cfg names, in cfg.Schema (created by up when
// missing), and answers where it stands after. Each migration runs in a
// transaction of its own with its version row.
func Migrate(ctx context.Context, cfg Config, action string) (MigrationStatus, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return MigrationStatus{}, err
	}
	switch action {
	case MigrateUp, MigrateDown, MigrateStatus:
	default:
		return MigrationStatus{}, fmt.Errorf("migrate: unknown action %q (want up, down or status)", action)
	}
	ms, err := migrations()
	if err != nil {
		return MigrationStatus{}, err
	}
	st := MigrationStatus{Latest: ms[len(ms)-1].version}
	conn, err := connect(ctx, cfg)
	if err != nil {
		return st, err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLock); err != nil {
		return st, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", migrateLock)
	if action == MigrateUp {
		if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{cfg.Schema}.Sanitize()); err != nil {
			return st, fmt.Errorf("migrate: create schema %s: %w", cfg.Schema, err)
		}
		if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return st, fmt.Errorf("migrate: %w", err)
		}
	}
	if st.Current, err = currentVersion(ctx, conn); err != nil {
		return st, err
	}
	switch action {
	case MigrateUp:
		if st.Current > st.Latest {
			return st, fmt.Errorf("migrate up: %s; upgrade batchhost", st)
		}
		for _, m := range ms {
			if m.version <= st.Current {
				continue
			}
			if err := step(ctx, conn, m.up, "INSERT INTO schema_version (version) VALUES ($1)", m.version); err != nil {
				return st, fmt.Errorf("migrate up to %d: %w", m.version, err)
			}
			st.Current = m.version
		}
	case MigrateDown:
		for i := len(ms) - 1; i >= 0; i-- {
			if m := ms[i]; m.version == st.Current {
				if err := step(ctx, conn, m.down, "DELETE FROM schema_version WHERE version = $1", m.version); err != nil {
					return st, fmt.Errorf("migrate down from %d: %w", m.version, err)
				}
				st.Current = 0
				if i > 0 {
					st.Current = ms[i-1].version
				}
				break
			}
		}
	}
	return st, nil
}

// step runs one migration's SQL and records it, in one transaction.
func step(ctx context.Context, conn *pgx.Conn, sql, record string, version int) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sql); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, record, version)
		return err
	})
}

// errNoSchema: the database has no schema_version table in the schema.
var errNoSchema = errors.New("no batchhost schema")

// currentVersion is the highest version applied; 0 when the
// schema_version table is empty or missing.
func currentVersion(ctx context.Context, conn *pgx.Conn) (int, error) {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('schema_version') IS NOT NULL").Scan(&exists); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// connect opens one connection with cfg's schema as its search path.
func connect(ctx context.Context, cfg Config) (*pgx.Conn, error) {
	cc, err := pgx.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: bad database URL: %w", err)
	}
	setParams(cc.RuntimeParams, cfg)
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect to %s:%d: %w", cc.Host, cc.Port, err)
	}
	return conn, nil
}

// setParams sets the session parameters every connection of the store
// uses.
func setParams(p map[string]string, cfg Config) {
	p["search_path"] = pgx.Identifier{cfg.Schema}.Sanitize()
	p["application_name"] = cfg.Owner
	p["statement_timeout"] = strconv.FormatInt(cfg.StatementTimeout.Milliseconds(), 10)
	p["timezone"] = "UTC"
}
