package main

import (
	"github.com/spf13/cobra"
)

func (c *cli) enqueueCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "enqueue ID...",
		Short: "Submit created jobs, all at once or none",
		Long: `Submit jobs in state created, in one commit: all of them, or none if any
cannot be submitted. Prints each job's new state (with --json, the jobs).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			ctx := cmd.Context()
			cl, err := c.dial(ctx)
			if err != nil {
				return err
			}
			defer cl.Close()
			if err := cl.SubmitCreated(ctx, ids...); err != nil {
				return err
			}
			return c.printStates(ctx, cl, ids)
		},
	}
}
