package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

func (c *cli) statsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Show job counts by state, queue depth, busy workers, capacity and rate limits",
		Long: `Show job counts by state, queue depth by priority, busy workers, the
capacity (serve --capacity) and how much of it the running jobs need, whether
dispatch is paused, and the rated tasks and plugins (serve --rate) that are
out of tokens now, with when the next is due: their queued jobs wait for it.
Job records that fail their checksum are not counted in any state (no list
shows them); a "damaged" line counts them, when there are any.`,
		Args: cobra.NoArgs,
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
				row(tw, "capacity", capacityText(s))
				dispatch := "running"
				if s.DispatchPaused {
					dispatch = "paused (batchhost dispatch resume)"
				}
				row(tw, "dispatch", dispatch)
				row(tw, "throttled", throttledText(s.Throttled, time.Now()))
				if s.DamagedJobs > 0 {
					row(tw, "damaged", damagedText(s.DamagedJobs))
				}
				return tw.Flush()
			})
		},
	}
}

// throttledText lists the names out of tokens and when each gets its next:
// "chaos.noop (next in 40ms), exec (next in 1.2s)", or "none".
func throttledText(ts []host.Throttle, now time.Time) string {
	if len(ts) == 0 {
		return "none"
	}
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprintf("%s (next in %s)", t.Name, max(t.Next.Sub(now), 0).Round(time.Millisecond))
	}
	return strings.Join(parts, ", ")
}

// capacityText is what the running jobs need of the capacity:
// "cpu 1.5 of 4  memory_mb 800 of 6400 in use", or "none" without one.
func capacityText(s host.Stats) string {
	if s.Capacity == nil {
		return "none"
	}
	out := fmt.Sprintf("cpu %s of %s  memory_mb %d of %d in use",
		strconv.FormatFloat(s.CapacityInUse.CPU, 'f', -1, 64), strconv.FormatFloat(s.Capacity.CPU, 'f', -1, 64),
		s.CapacityInUse.MemoryMB, s.Capacity.MemoryMB)
	if s.MemoryPressure {
		out += "  (memory pressure: jobs that need memory wait)"
	}
	return out
}

// damagedText says how many job records are damaged and what to do.
func damagedText(n int) string {
	what := "job records"
	if n == 1 {
		what = "job record"
	}
	return fmt.Sprintf("%d %s, not counted above (batchhost check lists them with the host stopped; batchhost delete ID removes one)", n, what)
}
