package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
)

func (c *cli) listCmd() *cobra.Command {
	var (
		states, prios []string
		f             host.ListFilter
	)
	cmd := &cobra.Command{
		Use:   "list [--state S] [--task T] [--group GID] [--priority P] [--label K[=V]] [--search TEXT] [--limit N]",
		Short: "List jobs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, s := range states {
				for _, name := range strings.Split(s, ",") {
					st, err := host.ParseState(strings.TrimSpace(name))
					if err != nil {
						return usageErrorf("invalid --state: %v", err)
					}
					f.States = append(f.States, st)
				}
			}
			for _, s := range prios {
				for _, name := range strings.Split(s, ",") {
					p, err := host.ParsePriority(strings.TrimSpace(name))
					if err != nil {
						return usageErrorf("invalid --priority: %v", err)
					}
					f.Priorities = append(f.Priorities, p)
				}
			}
			if err := checkLimit(f.Limit); err != nil {
				return err
			}
			ctx := cmd.Context()
			cl, err := c.dial(ctx)
			if err != nil {
				return err
			}
			defer cl.Close()
			jobs, next, err := cl.List(ctx, f)
			if err != nil {
				return err
			}
			if c.json {
				if jobs == nil {
					jobs = []*host.Job{}
				}
				if err := c.printJSON(jobs); err != nil {
					return err
				}
				c.more("list", next)
				return nil
			}
			now := time.Now()
			tw := table(c.stdout)
			row(tw, "ID", "STATE", "TASK", "PRIORITY", "ATTEMPT", "CREATED", "GROUP", "ERROR")
			for _, j := range jobs {
				row(tw, j.ID, j.State, j.Task, j.Priority, fmt.Sprintf("%d/%d", j.Attempt, j.MaxAttempts), ago(j.CreatedAt, now), dash(j.Group), listError(j))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			c.more("list", next)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&states, "state", nil, "only jobs in state `S` (repeatable or comma-separated)")
	fl.StringVar(&f.Task, "task", "", "only jobs of task `T`")
	fl.StringVar(&f.Group, "group", "", "only members of group `GID`")
	fl.StringArrayVar(&prios, "priority", nil, "only jobs of priority `P`: low, normal, high, critical (repeatable or comma-separated)")
	fl.StringVar(&f.Label, "label", "", "only jobs with label `K=V` (or with label K, any value)")
	fl.StringVar(&f.Search, "search", "", "only jobs whose id, task or error message contains `TEXT` (ignoring case; reads every job the other filters let through)")
	fl.IntVar(&f.Limit, "limit", 100, fmt.Sprintf("at most `N` jobs (1 to %d)", host.MaxListLimit))
	fl.StringVar(&f.Before, "before", "", "the next page: jobs older than this cursor (printed by the previous page)")
	return cmd
}

// listErrorWidth is how many characters of an error list shows: enough for
// the kind and the gist; get shows the whole error.
const listErrorWidth = 60

// listError is a failed job's error for its list row: the kind and the
// first line of the message, cut to listErrorWidth; "-" for other jobs.
func listError(j *host.Job) string {
	if j.State != host.StateFailed || j.Error == nil {
		return "-"
	}
	first, _, _ := strings.Cut(strings.TrimSpace(j.Error.Message), "\n")
	// Tabs would split the table's columns.
	first = strings.Join(strings.Fields(first), " ")
	if first == "" {
		return string(j.Error.Kind)
	}
	return truncate(string(j.Error.Kind)+": "+first, listErrorWidth)
}

// more tells, on stderr in both output modes, how to get the next page:
// a script reading --json output learns there is one, and its cursor.
func (c *cli) more(command, next string) {
	if next != "" {
		fmt.Fprintf(c.stderr, "more: batchhost %s --before %s\n", command, next)
	}
}

// checkLimit refuses a --limit the host would not serve.
func checkLimit(n int) error {
	if n < 1 || n > host.MaxListLimit {
		return usageErrorf("invalid --limit %d: between 1 and %d", n, host.MaxListLimit)
	}
	return nil
}

// sortedKeys returns a map's keys in order, for stable output.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
