package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/backend/postgres"
	"github.com/batchhost/batchhost/host/internal/store"
)

// queueStore is what the host needs of its store: the port, and the
// prefix lookups that resolve the ids users type. The embedded bbolt
// Queue and PostgreSQL both have them.
type queueStore interface {
	backend.Store
	JobIDsWithPrefix(prefix string, limit int) ([]string, error)
	GroupIDsWithPrefix(prefix string, limit int) ([]string, error)
}

var (
	_ queueStore = (*store.Queue)(nil)
	_ queueStore = (*postgres.Store)(nil)
)

// commitObservable is a store that reports its commits (the embedded
// one: its group commits are what the dashboard's histograms show).
type commitObservable interface {
	ObserveCommits(fn func(latency time.Duration, jobs int)) (stop func())
}

// damageCounter is a store whose records carry checksums (the embedded
// one): it counts the job records that fail theirs.
type damageCounter interface {
	DamagedJobs(ctx context.Context) (int, error)
}

var _ damageCounter = (*store.Queue)(nil)

// openStore opens the queue the configuration names: PostgreSQL when
// Database is set (other hosts may share it), else the embedded file in
// DataDir.
// The lock, when not nil, is the data dir's (see lockDataDir), held until
// the host closes.
func openStore(c Config) (st queueStore, lock *os.File, err error) {
	if c.Database == "" {
		q, err := store.OpenQueue(filepath.Join(c.DataDir, dbFile), store.Options{NoSync: c.NoSync, Logger: c.Logger.Named("store"), Now: c.Clock.Now})
		return q, nil, err
	}
	if lock, err = lockDataDir(c.DataDir); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.DatabaseStatementTimeout)
	defer cancel()
	name, _ := os.Hostname()
	pg, err := postgres.Open(ctx, c.postgres(fmt.Sprintf("batchhost %s pid %d", name, os.Getpid())))
	if err != nil {
		lock.Close()
		return nil, nil, &kindError{ErrDatabase, err.Error()}
	}
	return pg, lock, nil
}

func (c Config) postgres(owner string) postgres.Config {
	return postgres.Config{URL: c.Database, Schema: c.DatabaseSchema, Owner: owner,
		PoolSize: c.DatabasePoolSize, StatementTimeout: c.DatabaseStatementTimeout}
}

// MigrationStatus says where a database's schema stands against this
// build: Current is the version applied (0: none), Latest the one this
// build reads and writes.
type MigrationStatus = postgres.MigrationStatus

// The actions of Migrate.
const (
	MigrateUp     = postgres.MigrateUp     // apply every pending migration
	MigrateDown   = postgres.MigrateDown   // undo the last applied migration
	MigrateStatus = postgres.MigrateStatus // change nothing; report
)

// Migrate applies (MigrateUp), undoes one step of (MigrateDown) or reports
// (MigrateStatus) the schema of the database cfg.Database names, in
// cfg.DatabaseSchema, and says where it stands after. Hosts starting at
// once may all call it: each migration is applied once. Only the
// Database fields of cfg are used.
func Migrate(ctx context.Context, cfg Config, action string) (MigrationStatus, error) {
	switch action {
	case MigrateUp, MigrateDown, MigrateStatus:
	default:
		return MigrationStatus{}, invalidf("unknown migration action %q (want up, down or status)", action)
	}
	if cfg.Database == "" {
		return MigrationStatus{}, invalidf("no database given: migrations are for a PostgreSQL queue (Config.Database, --database)")
	}
	if cfg.DatabaseStatementTimeout < 0 || cfg.DatabasePoolSize < 0 {
		return MigrationStatus{}, invalidf("database pool size and statement timeout must not be negative")
	}
	return postgres.Migrate(ctx, cfg.postgres("batchhost migrate"), action)
}
