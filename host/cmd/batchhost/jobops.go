package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

// jobOpCmd builds cancel, pause, resume and retry: the same shape, one
// operation each. Every id is tried; each refusal is reported on its own
// line and makes the exit code 1.
func (c *cli) jobOpCmd(name, short string, op func(*control.Client, context.Context, string) error) *cobra.Command {
	return &cobra.Command{
		Use:   name + " ID...",
		Short: short,
		Long: short + `.
Each id is tried on its own; the state of those that succeeded is printed
(with --json, the jobs), each failure on a line to stderr (exit code 1).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			ctx := cmd.Context()
			cl, err := c.dial(ctx)
			if err != nil {
				return err
			}
			defer cl.Close()
			var done []string
			code := 0
			for _, id := range ids {
				if err := op(cl, ctx, id); err != nil {
					code = max(code, c.fail(cmd, fmt.Errorf("%s %s: %w", name, id, err)))
					continue
				}
				done = append(done, id)
			}
			if len(done) > 0 {
				if err := c.printStates(ctx, cl, done); err != nil {
					return err
				}
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
}

// printStates shows jobs after an operation: "ID  state" lines, or the
// jobs as a JSON array.
func (c *cli) printStates(ctx context.Context, cl *control.Client, ids []string) error {
	jobs := make([]*host.Job, 0, len(ids))
	for _, id := range ids {
		j, err := cl.Get(ctx, id)
		if err != nil {
			return err
		}
		jobs = append(jobs, j)
	}
	if c.json {
		return c.printJSON(jobs)
	}
	tw := table(c.stdout)
	for _, j := range jobs {
		row(tw, j.ID, j.State, j.Task)
	}
	return tw.Flush()
}
