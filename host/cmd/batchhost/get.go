package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
)

func (c *cli) getCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show a job",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, err := c.dial(ctx)
			if err != nil {
				return err
			}
			defer cl.Close()
			j, err := cl.Get(ctx, args[0])
			if err != nil {
				return err
			}
			if c.json {
				return c.printJSON(j)
			}
			return writeJob(c.stdout, j, time.Now())
		},
	}
}

// writeJob is the human view of one job: a field a line, then attempts.
func writeJob(w io.Writer, j *host.Job, now time.Time) error {
	tw := table(w)
	state := string(j.State)
	if j.State == host.StatePaused && j.PausedFrom != "" {
		state += " (from " + string(j.PausedFrom) + ")"
	}
	row(tw, "id", j.ID)
	row(tw, "task", j.Task)
	row(tw, "state", state)
	row(tw, "priority", j.Priority)
	row(tw, "attempt", fmt.Sprintf("%d of %d", j.Attempt, j.MaxAttempts))
	if j.State == host.StateRunning || j.Progress.Fraction > 0 || j.Progress.Message != "" {
		row(tw, "progress", strings.TrimSpace(percent(j.Progress.Fraction)+" "+j.Progress.Message))
	}
	row(tw, "group", dash(j.Group))
	if len(j.DependsOn) > 0 {
		deps := make([]string, len(j.DependsOn))
		for i, d := range j.DependsOn {
			deps[i] = d.Job
			if d.Policy == host.DepIgnore {
				deps[i] += " (ignore)"
			}
		}
		row(tw, "depends on", strings.Join(deps, ", "))
	}
	if j.Key != "" {
		row(tw, "key", j.Key)
	}
	for _, k := range sortedKeys(j.Labels) {
		row(tw, "label", k+"="+j.Labels[k])
	}
	if j.Timeout > 0 {
		row(tw, "timeout", time.Duration(j.Timeout))
	}
	if j.Resources != nil {
		row(tw, "resources", j.Resources.String())
	}
	row(tw, "created", stamp(&j.CreatedAt, now))
	if j.RunAt != nil {
		row(tw, "run at", stamp(j.RunAt, now))
	}
	row(tw, "queued", stamp(j.QueuedAt, now))
	row(tw, "started", stamp(j.StartedAt, now))
	row(tw, "finished", stamp(j.FinishedAt, now))
	row(tw, "args", compactJSON(j.Args))
	if j.State == host.StateCompleted {
		row(tw, "result", compactJSON(j.Result))
	}
	if j.Error != nil {
		row(tw, "error", errLine(j.Error))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(j.Attempts) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nattempts:")
	tw = table(w)
	row(tw, "  #", "STARTED", "TOOK", "ERROR")
	for _, a := range j.Attempts {
		took := "-"
		if a.FinishedAt != nil {
			took = short(a.FinishedAt.Sub(a.StartedAt))
		}
		row(tw, fmt.Sprintf("  %d", a.Attempt), a.StartedAt.Format("15:04:05.000"), took, dash(errLine(a.Error)))
	}
	if j.Error != nil && j.Error.Stderr != "" {
		tw.Flush()
		fmt.Fprintln(w, "\nplugin stderr (last lines):")
		for _, l := range strings.Split(strings.TrimRight(j.Error.Stderr, "\n"), "\n") {
			fmt.Fprintln(w, "  "+l)
		}
		return nil
	}
	return tw.Flush()
}
