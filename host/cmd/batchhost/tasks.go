package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

func (c *cli) tasksCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "tasks",
		Short: "List the tasks the host's plugins offer",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				tasks, err := cl.Tasks(ctx)
				if err != nil {
					return err
				}
				if c.json {
					if tasks == nil {
						tasks = []host.TaskInfo{}
					}
					return c.printJSON(tasks)
				}
				tw := table(c.stdout)
				row(tw, "TASK", "PLUGIN", "VERSION", "DESCRIPTION")
				for _, t := range tasks {
					row(tw, t.Name, t.Plugin, dash(t.Version), t.Description)
				}
				return tw.Flush()
			})
		},
	}
}
