package main

import (
	"github.com/spf13/cobra"
)

func (c *cli) enqueueCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "enqueue ID...",
		Short: "Submit created jobs",
		Long: `Submit jobs in state created. Every id is checked first (known, created,
listed once): if one fails the check, none is submitted. Each is then
submitted in a commit of its own, in the order given: a job that left the
created state meanwhile (canceled because a member of its cancel-on-failure
group failed) is left as it is, and a full queue (--max-queue-size) stops
the submits where it is reached. Prints each job's new state (with --json,
the jobs).`,
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
