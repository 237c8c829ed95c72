package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

func (c *cli) pluginsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins [reload]",
		Short: "List the loaded plugins, or reload them from the plugin dir",
		Long: `"batchhost plugins" lists each loaded plugin: its version, its live
processes (idle or running a job; "+N retiring" are processes of a build a
reload replaced, finishing their jobs), its executable and its tasks, then
what went wrong loading the plugin dir, if anything did.

"batchhost plugins reload" scans the plugin dir again, as SIGHUP to
"batchhost serve" does: after a plugin is rebuilt, added or removed, jobs
that start from then on run on the new builds, and running jobs finish on
the processes of the old ones, which then stop. A job queued for a task
that is gone fails as unknown_task when it would start. A file unchanged
since it was loaded is not started again.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q for %q (the only subcommand is reload)", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				ps, err := cl.Plugins(ctx)
				if err != nil {
					return err
				}
				if c.json {
					if ps == nil {
						ps = []host.PluginInfo{}
					}
					return c.printJSON(ps)
				}
				probs, err := cl.Problems(ctx)
				if err != nil {
					return err
				}
				tw := table(c.stdout)
				row(tw, "PLUGIN", "VERSION", "PROCESSES", "PATH", "TASKS")
				for _, p := range ps {
					procs := fmt.Sprint(p.Processes)
					if p.Retiring > 0 {
						procs += fmt.Sprintf(" (+%d retiring)", p.Retiring)
					}
					row(tw, p.Name, dash(p.Version), procs, p.Path, strings.Join(p.Tasks, ", "))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				return printProblems(c.stdout, probs)
			})
		},
	}
	cmd.AddCommand(c.pluginsReloadCmd())
	return cmd
}

func (c *cli) pluginsReloadCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Scan the plugin dir again: new jobs run on rebuilt plugins",
		Long: `Scan the plugin dir again and print what changed: plugins added, removed,
changed (rebuilt: new jobs run on the new build, running jobs finish on the
old processes, which then stop) and unchanged, and the problems found.
SIGHUP to "batchhost serve" does the same.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				rep, err := cl.ReloadPlugins(ctx)
				if err != nil {
					return err
				}
				if c.json {
					return c.printJSON(reloadJSON(rep))
				}
				return printReload(c.stdout, rep)
			})
		},
	}
}

// reloadJSON is a reload's machine output: every list present, problems
// as strings.
func reloadJSON(rep *host.PluginReload) any {
	orEmpty := func(ps []host.PluginInfo) []host.PluginInfo {
		if ps == nil {
			return []host.PluginInfo{}
		}
		return ps
	}
	out := struct {
		Added     []host.PluginInfo   `json:"added"`
		Removed   []host.PluginInfo   `json:"removed"`
		Changed   []host.PluginChange `json:"changed"`
		Unchanged []string            `json:"unchanged"`
		Problems  []string            `json:"problems"`
	}{Added: orEmpty(rep.Added), Removed: orEmpty(rep.Removed), Changed: rep.Changed, Unchanged: rep.Unchanged, Problems: []string{}}
	if out.Changed == nil {
		out.Changed = []host.PluginChange{}
	}
	if out.Unchanged == nil {
		out.Unchanged = []string{}
	}
	for _, p := range rep.Problems {
		out.Problems = append(out.Problems, p.Error())
	}
	return out
}

// printReload says what a reload changed, a line per plugin.
func printReload(w io.Writer, rep *host.PluginReload) error {
	for _, ch := range rep.Changed {
		line := fmt.Sprintf("changed    %s %s -> %s (%s): new jobs run on the new build", ch.New.Name, dash(ch.Old.Version), dash(ch.New.Version), ch.New.Path)
		if ch.New.Retiring > 0 {
			line += fmt.Sprintf("; %d running on the old one finish there", ch.New.Retiring)
		}
		if gone := missing(ch.Old.Tasks, ch.New.Tasks); len(gone) > 0 {
			line += "; tasks gone: " + strings.Join(gone, ", ")
		}
		if added := missing(ch.New.Tasks, ch.Old.Tasks); len(added) > 0 {
			line += "; new tasks: " + strings.Join(added, ", ")
		}
		fmt.Fprintln(w, line)
	}
	for _, p := range rep.Added {
		fmt.Fprintf(w, "added      %s %s (%s): %s\n", p.Name, dash(p.Version), p.Path, strings.Join(p.Tasks, ", "))
	}
	for _, p := range rep.Removed {
		fmt.Fprintf(w, "removed    %s %s (%s): running jobs finish; queued jobs of its tasks fail as unknown_task when they would start\n", p.Name, dash(p.Version), p.Path)
	}
	if len(rep.Unchanged) > 0 {
		fmt.Fprintf(w, "unchanged  %s\n", strings.Join(rep.Unchanged, ", "))
	}
	if len(rep.Changed)+len(rep.Added)+len(rep.Removed)+len(rep.Unchanged) == 0 {
		fmt.Fprintln(w, "no plugins loaded")
	}
	var probs []string
	for _, p := range rep.Problems {
		probs = append(probs, p.Error())
	}
	return printProblems(w, probs)
}

// missing lists the names of a that b lacks.
func missing(a, b []string) []string {
	var out []string
	for _, s := range a {
		found := false
		for _, t := range b {
			found = found || s == t
		}
		if !found {
			out = append(out, s)
		}
	}
	return out
}

func printProblems(w io.Writer, probs []string) error {
	for _, p := range probs {
		if _, err := fmt.Fprintf(w, "problem    %s\n", p); err != nil {
			return err
		}
	}
	return nil
}
