package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

func (c *cli) statsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Show job counts by state, queue depth and busy workers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				s, err := cl.Stats(ctx)
				if err != nil {
					return err
				}
				if c.json {
					return c.printJSON(s)
				}
				tw := table(c.stdout)
				var jobs []string
				for _, st := range allStates {
					jobs = append(jobs, fmt.Sprintf("%s %d", st, s.Counts[st]))
				}
				row(tw, "jobs", strings.Join(jobs, "  "))
				var depth []string
				for _, p := range []host.Priority{host.PriorityCritical, host.PriorityHigh, host.PriorityNormal, host.PriorityLow} {
					depth = append(depth, fmt.Sprintf("%s %d", p, s.QueueDepth[p.String()]))
				}
				row(tw, "queue", strings.Join(depth, "  "))
				row(tw, "workers", fmt.Sprintf("%d of %d busy", s.BusyWorkers, s.MaxWorkers))
				dispatch := "running"
				if s.DispatchPaused {
					dispatch = "paused (batchhost dispatch resume)"
				}
				row(tw, "dispatch", dispatch)
				return tw.Flush()
			})
		},
	}
}
