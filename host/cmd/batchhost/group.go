package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

func (c *cli) groupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "group",
		Short: "Create, fill, watch and steer job groups",
		Args:  cobra.ArbitraryArgs,
		RunE:  needSubcommand,
	}
	cmd.AddCommand(
		c.groupCreateCmd(),
		c.groupAddCmd(),
		c.groupGetCmd(),
		c.groupWaitCmd(),
		c.groupOpCmd("cancel", "Cancel every unfinished member", (*control.Client).CancelGroup),
		c.groupOpCmd("pause", "Pause every member that can be paused", (*control.Client).PauseGroup),
		c.groupOpCmd("resume", "Resume every paused member", (*control.Client).ResumeGroup),
		c.groupOpCmd("submit", "Submit every created member", (*control.Client).SubmitGroup),
		c.groupListCmd(),
	)
	return cmd
}

func (c *cli) groupCreateCmd() *cobra.Command {
	var spec host.GroupSpec
	cmd := &cobra.Command{
		Use:   "create NAME [--sequential] [--cancel-on-failure]",
		Short: "Create a group and print its id",
		Long: `Create an empty group and print its id (with --json, the group).
--sequential runs members one after another in the order they were added;
--cancel-on-failure cancels every unfinished member when one fails.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec.Name = args[0]
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				id, err := cl.CreateGroup(ctx, spec)
				if err != nil {
					return err
				}
				if c.json {
					return c.printGroup(ctx, cl, id)
				}
				_, err = fmt.Fprintln(c.stdout, id)
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&spec.Sequential, "sequential", false, "run members one at a time, in the order added")
	cmd.Flags().BoolVar(&spec.CancelOnFailure, "cancel-on-failure", false, "a failed member cancels the unfinished others")
	return cmd
}

func (c *cli) groupAddCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "add GID ID...",
		Short: "Add created jobs to a group",
		Long:  "Add jobs that are still created to a group, in order, then print the group. All are added or none.",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				if err := cl.AddJobsToGroup(ctx, args[0], args[1:]...); err != nil {
					return fmt.Errorf("%w (nothing was added)", err)
				}
				return c.printGroup(ctx, cl, args[0])
			})
		},
	}
}

func (c *cli) groupGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get GID",
		Short: "Show a group: counts by state, progress, outcome and members",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				return c.printGroup(ctx, cl, args[0])
			})
		},
	}
}

func (c *cli) groupWaitCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait GID [--timeout DUR]",
		Short: "Wait until every member of a group is finished",
		Long: `Wait until every member of the group is finished, then print the group.
Exit codes: 0 every member completed, 1 any failed or was canceled,
2 an error or the timeout.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout < 0 {
				return usageErrorf("invalid --timeout %s: must not be negative", timeout)
			}
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				if timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, timeout)
					defer cancel()
				}
				g, err := cl.WaitGroup(ctx, args[0])
				if errors.Is(err, context.DeadlineExceeded) {
					err = &reworded{fmt.Sprintf("timed out: group %s not finished", args[0]), err}
				}
				if err != nil {
					return waitFailed(err)
				}
				if err := c.showGroup(ctx, cl, g); err != nil {
					return err
				}
				if g.Outcome != "completed" {
					return &exitError{code: 1}
				}
				return nil
			})
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (exit code 2); 0 waits forever")
	return cmd
}

func (c *cli) groupOpCmd(name, short string, op func(*control.Client, context.Context, string) error) *cobra.Command {
	return &cobra.Command{
		Use:   name + " GID",
		Short: short,
		Long:  short + ", then print the group.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				if err := op(cl, ctx, args[0]); err != nil {
					return err
				}
				return c.printGroup(ctx, cl, args[0])
			})
		},
	}
}

func (c *cli) groupListCmd() *cobra.Command {
	var (
		limit  int
		before string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List groups, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkLimit(limit); err != nil {
				return err
			}
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				groups, next, err := cl.ListGroups(ctx, before, limit)
				if err != nil {
					return err
				}
				if c.json {
					if groups == nil {
						groups = []*host.Group{}
					}
					if err := c.printJSON(groups); err != nil {
						return err
					}
					c.more("group list", next)
					return nil
				}
				now := time.Now()
				tw := table(c.stdout)
				row(tw, "ID", "NAME", "JOBS", "PROGRESS", "OUTCOME", "CREATED")
				for _, g := range groups {
					row(tw, g.ID, g.Name, total(g.Counts), percent(g.Progress), groupOutcome(g), ago(g.CreatedAt, now))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				c.more("group list", next)
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 100, fmt.Sprintf("at most `N` groups (1 to %d)", host.MaxListLimit))
	cmd.Flags().StringVar(&before, "before", "", "the next page: groups older than this cursor")
	return cmd
}

// withClient dials the host for a command and closes the client after.
func (c *cli) withClient(cmd *cobra.Command, fn func(context.Context, *control.Client) error) error {
	ctx := cmd.Context()
	cl, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	return fn(ctx, cl)
}

func (c *cli) printGroup(ctx context.Context, cl *control.Client, id string) error {
	g, err := cl.GetGroup(ctx, id)
	if err != nil {
		return err
	}
	return c.showGroup(ctx, cl, g)
}

// showGroup prints a group: JSON, or its fields and a table of members.
func (c *cli) showGroup(ctx context.Context, cl *control.Client, g *host.Group) error {
	if c.json {
		return c.printJSON(g)
	}
	now := time.Now()
	tw := table(c.stdout)
	row(tw, "id", g.ID)
	row(tw, "name", g.Name)
	row(tw, "sequential", yesNo(g.Sequential))
	row(tw, "cancel on failure", yesNo(g.CancelOnFailure))
	row(tw, "jobs", fmt.Sprintf("%d (%s)", len(g.Jobs), countsText(g.Counts)))
	row(tw, "progress", percent(g.Progress))
	row(tw, "outcome", groupOutcome(g))
	row(tw, "created", stamp(&g.CreatedAt, now))
	row(tw, "finished", stamp(g.FinishedAt, now))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(g.Jobs) == 0 {
		return nil
	}
	const shown = 50
	jobs, _, err := cl.List(ctx, host.ListFilter{Group: g.ID, Limit: shown})
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "\nmembers:")
	return writeMembers(c.stdout, jobs, len(g.Jobs)-len(jobs))
}

func writeMembers(w io.Writer, jobs []*host.Job, more int) error {
	tw := table(w)
	row(tw, "  ID", "STATE", "TASK", "PROGRESS", "ERROR")
	// List is newest first; members read best in the order added.
	for i := len(jobs) - 1; i >= 0; i-- {
		j := jobs[i]
		row(tw, "  "+j.ID, j.State, j.Task, percent(j.Progress.Fraction), dash(errLine(j.Error)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if more > 0 {
		fmt.Fprintf(w, "  ... and %d more (batchhost list --group ID)\n", more)
	}
	return nil
}

// groupOutcome is the outcome of a done group, else "running" or "empty".
func groupOutcome(g *host.Group) string {
	switch {
	case g.Done:
		return g.Outcome
	case len(g.Jobs) == 0 && total(g.Counts) == 0:
		return "empty"
	}
	return "not done"
}

func total(counts map[host.State]int) int {
	n := 0
	for _, v := range counts {
		n += v
	}
	return n
}

// allStates lists the states in lifecycle order, for stable output.
var allStates = []host.State{host.StateCreated, host.StateQueued, host.StateWaiting, host.StateRunning, host.StatePaused, host.StateCompleted, host.StateFailed, host.StateCanceled}

// countsText renders non-zero counts: "2 completed, 1 failed".
func countsText(counts map[host.State]int) string {
	var parts []string
	for _, s := range allStates {
		if n := counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
