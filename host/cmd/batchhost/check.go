package main

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
)

func (c *cli) checkCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Check every record of the data dir's job database, without writing",
		Long: `Read every job, group and schedule record of the job database in --data-dir
and report each damaged one: a record that fails its checksum (CRC-32C) or
does not decode, or an index entry naming a record that is not there. The
file is opened read-only and never written. A running host holds the file:
stop it first.

A host leaves a damaged record aside (never runs, changes or lists it) and
logs it; restore a backup to get it back, or, with a host running on the
data dir, remove a damaged job record with "batchhost delete ID" (its
index entries go with it).

Exit codes: 0 no damage, 1 damage found (or the file could not be read),
2 usage error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := host.Check(c.dataDir)
			if err != nil {
				return err
			}
			if c.json {
				if err := c.printJSON(r); err != nil {
					return err
				}
			} else {
				for _, d := range r.Damaged {
					fmt.Fprintf(c.stdout, "%s %s: %s\n", d.Bucket, shownKey(d.Key), d.Problem)
				}
				fmt.Fprintf(c.stdout, "checked %s (schema %d): %d jobs, %d groups, %d schedules; %d damaged\n",
					r.Path, r.Schema, r.Records["jobs"], r.Records["groups"], r.Records["schedules"], len(r.Damaged))
			}
			if n := len(r.Damaged); n > 0 {
				return &exitError{code: 1, err: fmt.Errorf(
					"%d damaged records in %s: hosts leave them aside (not run, changed or listed); restore a backup to get them back, or remove a damaged job record with: batchhost delete ID (with a host running on the data dir)", n, r.Path)}
			}
			return nil
		},
	}
}

// shownKey is a key as typed, or quoted when it has bytes a terminal would
// not show as they are (a damaged key may).
func shownKey(k string) string {
	if k == "" {
		return `""`
	}
	for _, r := range k {
		if r == utf8.RuneError || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return strconv.Quote(k)
		}
	}
	return k
}
