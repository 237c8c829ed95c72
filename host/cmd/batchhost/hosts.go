package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

func (c *cli) hostsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "hosts",
		Short: "List the hosts serving the queue",
		Long: `List the hosts serving the queue: with serve --database, every host sharing
the PostgreSQL queue (each registers, and renews every third of its
--lease-ttl); otherwise the one daemon. STATE is "leader" for the host
holding the leader's lease, "alive", or "dead" for one whose registration
expired (the leader has rescued its running jobs); dead hosts are listed
for a day. The host answering is marked with *.`,
		Example: `  batchhost hosts
  batchhost --json hosts`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				hs, err := cl.Hosts(ctx)
				if err != nil {
					return err
				}
				if c.json {
					if hs == nil {
						hs = []host.HostStatus{}
					}
					return c.printJSON(hs)
				}
				tw := table(c.stdout)
				row(tw, "NAME", "PID", "STATE", "SLOTS", "SEEN", "VERSION", "TASKS")
				for _, h := range hs {
					name := h.Name
					if h.Self {
						name += " *"
					}
					state := "dead"
					switch {
					case h.Alive && h.Leader:
						state = "leader"
					case h.Alive:
						state = "alive"
					}
					seen := time.Since(h.Seen).Round(time.Second).String() + " ago"
					row(tw, name, fmt.Sprint(h.PID), state, fmt.Sprint(h.Slots), seen, h.Version, strings.Join(h.Tasks, ","))
				}
				return tw.Flush()
			})
		},
	}
}
