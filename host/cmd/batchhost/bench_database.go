package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batchhost/batchhost/host"
)

// benchSchemas gives each of bench's hosts on --database a schema of its
// own in that database (a fresh queue, as the embedded hosts get a fresh
// data dir), migrated up at first use and dropped when bench ends.
type benchSchemas struct {
	url   string
	names []string
}

// config puts cfg's queue in a new schema for the host called name.
func (b *benchSchemas) config(ctx context.Context, cfg *host.Config, name string) error {
	schema := fmt.Sprintf("batchhost_bench_%d_%s", os.Getpid(), name)
	cfg.Database, cfg.DatabaseSchema = b.url, schema
	b.names = append(b.names, schema)
	if _, err := host.Migrate(ctx, *cfg, host.MigrateUp); err != nil {
		return fmt.Errorf("bench --database: %w", err)
	}
	return nil
}

// drop removes the schemas bench made, with what they hold.
func (b *benchSchemas) drop() error {
	if len(b.names) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, b.url)
	if err != nil {
		return fmt.Errorf("bench --database: dropping its schemas: %w", err)
	}
	defer conn.Close(ctx)
	for _, s := range b.names {
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{s}.Sanitize()+" CASCADE"); err != nil {
			return fmt.Errorf("bench --database: dropping schema %s: %w", s, err)
		}
	}
	return nil
}
