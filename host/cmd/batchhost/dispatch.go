package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host/control"
)

func (c *cli) dispatchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dispatch pause|resume",
		Short: "Stop or restart starting new jobs host-wide",
		Long: `"dispatch pause" stops starting new attempts; running jobs go on. It is not
persisted: a restarted host dispatches. "dispatch resume" undoes it.`,
		Args: cobra.ArbitraryArgs,
		RunE: needSubcommand,
	}
	op := func(name, done string, fn func(*control.Client, context.Context) error) *cobra.Command {
		return &cobra.Command{
			Use:   name,
			Short: name + " dispatching",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
					if err := fn(cl, ctx); err != nil {
						return err
					}
					if c.json {
						s, err := cl.Stats(ctx)
						if err != nil {
							return err
						}
						return c.printJSON(map[string]bool{"dispatch_paused": s.DispatchPaused})
					}
					_, err := fmt.Fprintln(c.stdout, done)
					return err
				})
			},
		}
	}
	cmd.AddCommand(
		op("pause", "dispatch paused: running jobs go on, nothing new starts", (*control.Client).PauseDispatch),
		op("resume", "dispatch resumed", (*control.Client).ResumeDispatch),
	)
	return cmd
}
