package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

func (c *cli) deleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID...",
		Short: "Delete finished jobs and their logs, all at once or none",
		Long: `Delete finished jobs (completed, failed or canceled) and their logs, in one
commit: all of them, or none if any cannot be deleted (an unknown id, a job
not finished: cancel it and wait for it first). Prints each deleted job's id
(with --json, the list of ids).

A deleted job is gone as one the retention pruned is: its group keeps its
counts, and a job depending on it that is submitted, resumed or retried
later counts it as completed.

A job whose record is damaged ("batchhost check" lists them; get says so)
is deleted whatever its state, with its index entries: that is how to clear
it without restoring a backup. Its record cannot be read, so what it held
(task, args, state, result, attempts) is lost; the output says so.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				// The record of a damaged job cannot be read after the
				// delete either: say now which ones are.
				damaged := make([]string, len(ids))
				for i, id := range ids {
					if _, err := cl.Get(ctx, id); errors.Is(err, host.ErrDamaged) {
						damaged[i] = damageOf(err)
					}
				}
				deleted, err := cl.Delete(ctx, ids...)
				if err != nil {
					return err
				}
				if c.json {
					return c.printJSON(deleted)
				}
				tw := table(c.stdout)
				for i, id := range deleted {
					if i < len(damaged) && damaged[i] != "" {
						row(tw, id, "deleted; its record was damaged ("+damaged[i]+"): its task, args, state, result and attempts could not be read and are lost")
						continue
					}
					row(tw, id, "deleted")
				}
				return tw.Flush()
			})
		},
	}
}

// damageOf is what is wrong with a damaged record, from its error ("job
// ID: its record is damaged (checksum mismatch) in data file ...").
func damageOf(err error) string {
	_, rest, ok := strings.Cut(err.Error(), "is damaged (")
	if problem, _, found := strings.Cut(rest, ") in data file"); ok && found {
		return problem
	}
	return "unreadable"
}

// finishedStates are the states a purge takes.
var finishedStates = []host.State{host.StateCompleted, host.StateFailed, host.StateCanceled}

func (c *cli) purgeCmd() *cobra.Command {
	var (
		states []string
		f      host.PurgeFilter
	)
	cmd := &cobra.Command{
		Use:   "purge --state S [--task T] [--older-than D]",
		Short: "Delete every finished job of some states, with their logs",
		Long: `Delete every finished job in the states given (--state completed, failed or
canceled: at least one), of one task (--task) and finished longer ago than
--older-than, with their logs, in commits of up to 1000 jobs. Prints how
many it deleted (with --json, {"deleted": N}). Unfinished jobs are never
purged.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, s := range states {
				for _, name := range strings.Split(s, ",") {
					st, err := host.ParseState(strings.TrimSpace(name))
					if err != nil {
						return usageErrorf("invalid --state: %v", err)
					}
					if !st.Terminal() {
						return usageErrorf("invalid --state %s: purge takes finished states only (completed, failed, canceled)", st)
					}
					f.States = append(f.States, st)
				}
			}
			if len(f.States) == 0 {
				return usageErrorf("purge needs --state: completed, failed or canceled (repeatable or comma-separated)")
			}
			if f.OlderThan < 0 {
				return usageErrorf("invalid --older-than %s: must not be negative", f.OlderThan)
			}
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				n, err := cl.Purge(ctx, f)
				if err != nil {
					return err
				}
				if c.json {
					return c.printJSON(map[string]int{"deleted": n})
				}
				_, err = fmt.Fprintf(c.stdout, "deleted %d %s\n", n, purgeWhat(n, f))
				return err
			})
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&states, "state", nil, "purge jobs in state `S`: completed, failed or canceled (repeatable or comma-separated; required)")
	fl.StringVar(&f.Task, "task", "", "only jobs of task `T`")
	fl.DurationVar(&f.OlderThan, "older-than", 0, "only jobs that finished longer ago than `D`, e.g. 24h (default: any)")
	return cmd
}

// purgeWhat describes the jobs a purge deleted: "failed or canceled jobs
// of chaos.noop that finished over 24h0m0s ago".
func purgeWhat(n int, f host.PurgeFilter) string {
	names := make([]string, len(f.States))
	for i, st := range f.States {
		names[i] = string(st)
	}
	s := strings.Join(names, " or ") + " job"
	if n != 1 {
		s += "s"
	}
	if f.Task != "" {
		s += " of " + f.Task
	}
	if f.OlderThan > 0 {
		s += " that finished over " + f.OlderThan.String() + " ago"
	}
	return s
}
