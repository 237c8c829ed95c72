package main

import (
	"github.com/spf13/cobra"
)

func (c *cli) createCmd() *cobra.Command {
	var jf jobFlags
	cmd := &cobra.Command{
		Use:   "create TASK [flags]",
		Short: "Create a job without running it (enqueue it later)",
		Long: `Create a job in state created and print its id (with --json, the job).
It runs once enqueued ("batchhost enqueue ID") or its group is submitted;
until then it can join a group.`,
		Args: needTask("a task name", 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := jf.spec(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cl, err := c.dial(ctx)
			if err != nil {
				return err
			}
			defer cl.Close()
			id, err := cl.Create(ctx, spec)
			if err != nil {
				return unknownTask(ctx, cl, spec.Task, err)
			}
			return c.printNewJob(ctx, cl, id)
		},
	}
	jf.register(cmd.Flags())
	return cmd
}
