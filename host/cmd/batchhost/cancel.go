package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

func (c *cli) cancelCmd() *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "cancel ID... [--wait]",
		Short: "Cancel jobs (running ones are stopped)",
		Long: `Cancel jobs. A job that is not running is canceled at once; a running one
is asked to stop and is killed if it has not returned within the host's kill
grace (--kill-grace of serve, 5s by default). Each id is tried on its own;
what happened to each is printed:

  ID  canceled
  ID  cancel requested: running job will stop within the kill grace

With --wait, cancel returns when every job has ended, and prints how it
ended (exit 1 if a job finished otherwise before the cancel reached it).
With --json, the jobs. Each failure goes on a line to stderr (exit 1).`,
		Example: `  batchhost cancel 0190f1c2-...              # ask; returns at once
  batchhost cancel --wait 0190f1c2-...       # returns once it is canceled
  batchhost list --state queued --json | jq -r '.[].id' | xargs batchhost cancel`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				var done []string
				code := 0
				for _, id := range ids {
					if err := cl.Cancel(ctx, id); err != nil {
						code = max(code, c.fail(cmd, fmt.Errorf("cancel %s: %w", id, err)))
						continue
					}
					done = append(done, id)
				}
				jobs, err := c.afterCancel(ctx, cl, done, wait)
				if err != nil {
					return err
				}
				if c.json {
					if len(jobs) > 0 {
						if err := c.printJSON(jobs); err != nil {
							return err
						}
					}
				} else {
					tw := table(c.stdout)
					for _, j := range jobs {
						row(tw, j.ID, cancelOutcome(j))
					}
					if err := tw.Flush(); err != nil {
						return err
					}
				}
				for _, j := range jobs {
					if wait && j.State != host.StateCanceled {
						code = max(code, 1)
					}
				}
				if code != 0 {
					return &exitError{code: code}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "return when the jobs have ended (a running job within the kill grace)")
	return cmd
}

// afterCancel reads the jobs a cancel reached: now, or once they have
// ended when wait is set.
func (c *cli) afterCancel(ctx context.Context, cl *control.Client, ids []string, wait bool) ([]*host.Job, error) {
	jobs := make([]*host.Job, 0, len(ids))
	for _, id := range ids {
		get := cl.Get
		if wait {
			get = cl.Wait
		}
		j, err := get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("cancel %s: %w", id, err)
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// cancelOutcome says what a cancel did to j: a job still running was
// asked to stop; one that ended otherwise finished before it could be.
func cancelOutcome(j *host.Job) string {
	switch {
	case j.State == host.StateCanceled:
		return "canceled"
	case !j.State.Terminal():
		return fmt.Sprintf("cancel requested: %s job will stop within the kill grace", j.State)
	}
	return fmt.Sprintf("%s: it finished before the cancel reached it", j.State)
}
