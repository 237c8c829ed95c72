package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
)

func (c *cli) migrateCmd() *cobra.Command {
	var cfg host.Config
	cmd := &cobra.Command{
		Use:   "migrate up|down|status --database URL",
		Short: "Create or upgrade the PostgreSQL queue's schema",
		Long: `Apply (up), undo the last step of (down), or report (status) the schema of
the PostgreSQL queue that --database names (env BATCHHOST_DATABASE_URL), in
--database-schema. Hosts refuse a schema that is not their build's: run
"migrate up" after installing a new batchhost, before starting it. Hosts
that start at once may all run it: each step is applied once.`,
		Example: `  batchhost migrate up --database postgres://batchhost@db:5432/jobs
  BATCHHOST_DATABASE_URL=postgres://batchhost@db:5432/jobs batchhost migrate status`,
		ValidArgs: []string{host.MigrateUp, host.MigrateDown, host.MigrateStatus},
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("migrate needs one action: up, down or status")
			}
			switch args[0] {
			case host.MigrateUp, host.MigrateDown, host.MigrateStatus:
				return nil
			}
			return usageErrorf("unknown migrate action %q: want up, down or status", args[0])
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.applyEnv(cmd.Flags(), map[string]string{"database": databaseEnv, "database-schema": "BATCHHOST_DATABASE_SCHEMA"}); err != nil {
				return err
			}
			if cfg.Database == "" {
				return usageErrorf("migrate needs --database (or %s): the PostgreSQL queue's connection string", databaseEnv)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			st, err := host.Migrate(ctx, cfg, args[0])
			if err != nil {
				return err
			}
			if c.json {
				return c.printJSON(map[string]int{"current": st.Current, "latest": st.Latest})
			}
			_, err = fmt.Fprintln(c.stdout, st)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.Database, "database", "", "the PostgreSQL queue's connection string, postgres://user@host:5432/db (env "+databaseEnv+")")
	fl.StringVar(&cfg.DatabaseSchema, "database-schema", "", "PostgreSQL schema of the queue (env BATCHHOST_DATABASE_SCHEMA; default public)")
	return cmd
}
