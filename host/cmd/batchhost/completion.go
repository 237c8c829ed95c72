package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

// completionTimeout bounds a completion's questions to the host: a shell
// waiting on Tab must not hang on a busy or missing daemon.
const completionTimeout = 2 * time.Second

// liveStates are the states of jobs that have not ended.
var liveStates = []host.State{host.StateCreated, host.StateWaiting, host.StateQueued, host.StateRunning, host.StatePaused}

// addCompletions teaches cobra's completion ("batchhost completion bash")
// what the arguments and flags of each command are: task names, states,
// and the ids of jobs, groups and schedules the host has, asked over the
// control socket when Tab is pressed. Commands get them here, in one
// place, rather than each in its own file.
func (c *cli) addCompletions(root *cobra.Command) {
	tasks := c.completeTasks
	jobs := func(states ...host.State) cobra.CompletionFunc { return c.completeJobs(states) }
	args := map[string]cobra.CompletionFunc{
		"submit":           c.oneArg(tasks),
		"create":           c.oneArg(tasks),
		"schedule add":     c.secondArg(tasks),
		"get":              c.oneArg(jobs()),
		"result":           c.oneArg(jobs(host.StateCompleted)),
		"logs":             c.oneArg(jobs()),
		"wait":             jobs(liveStates...),
		"cancel":           jobs(liveStates...),
		"pause":            jobs(host.StateWaiting, host.StateQueued, host.StateRunning),
		"resume":           jobs(host.StatePaused),
		"retry":            jobs(host.StateFailed, host.StateCanceled),
		"enqueue":          jobs(host.StateCreated),
		"delete":           jobs(finishedStates...),
		"group add":        c.groupThenJobs(jobs(host.StateCreated)),
		"group get":        c.oneArg(c.completeGroups),
		"group wait":       c.oneArg(c.completeGroups),
		"group cancel":     c.oneArg(c.completeGroups),
		"group pause":      c.oneArg(c.completeGroups),
		"group resume":     c.oneArg(c.completeGroups),
		"group submit":     c.oneArg(c.completeGroups),
		"schedule get":     c.oneArg(c.completeSchedules),
		"schedule pause":   c.oneArg(c.completeSchedules),
		"schedule resume":  c.oneArg(c.completeSchedules),
		"schedule rm":      c.oneArg(c.completeSchedules),
		"schedule trigger": c.oneArg(c.completeSchedules),
	}
	var stateNames []string
	for _, s := range allStates {
		stateNames = append(stateNames, string(s))
	}
	flags := map[string]cobra.CompletionFunc{
		"state":     fixed(stateNames...),
		"task":      tasks,
		"after":     jobs(),
		"group":     c.completeGroups,
		"priority":  fixed("low", "normal", "high", "critical"),
		"log-level": fixed("trace", "debug", "info", "warn", "error"),
		"overlap":   fixed("skip", "allow", "queue"),
		"missed":    fixed("skip", "none"),
	}
	// Flags a command completes otherwise: purge takes finished states.
	var finishedNames []string
	for _, s := range finishedStates {
		finishedNames = append(finishedNames, string(s))
	}
	commandFlags := map[string]map[string]cobra.CompletionFunc{
		"purge": {"state": fixed(finishedNames...)},
	}
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		path := strings.TrimPrefix(strings.TrimPrefix(cmd.CommandPath(), root.Name()), " ")
		for name, fn := range commandFlags[path] {
			_ = cmd.RegisterFlagCompletionFunc(name, fn)
		}
		if fn, ok := args[path]; ok {
			cmd.ValidArgsFunction = fn
		} else if cmd.ValidArgsFunction == nil && cmd != root {
			// No file names where a command takes none.
			cmd.ValidArgsFunction = cobra.NoFileCompletions
		}
		for name, fn := range flags {
			if cmd.LocalFlags().Lookup(name) != nil {
				_ = cmd.RegisterFlagCompletionFunc(name, fn)
			}
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// fixed completes one of a fixed set of words.
func fixed(words ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(words, cobra.ShellCompDirectiveNoFileComp)
}

// oneArg completes the first argument only.
func (c *cli) oneArg(fn cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return fn(cmd, args, toComplete)
	}
}

// secondArg completes the second argument only (schedule add NAME TASK).
func (c *cli) secondArg(fn cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) != 1 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return fn(cmd, args, toComplete)
	}
}

// groupThenJobs completes a group id, then job ids (group add GID ID...).
func (c *cli) groupThenJobs(jobs cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return c.completeGroups(cmd, args, toComplete)
		}
		return jobs(cmd, args, toComplete)
	}
}

// askHost runs fn with a client of the host the command line names
// (--socket, --data-dir, the environment). Completion runs no
// PersistentPreRun, so the globals are resolved here. Any failure
// completes nothing: Tab must not print errors into the command line.
func (c *cli) askHost(cmd *cobra.Command, fn func(context.Context, *control.Client) []cobra.Completion) ([]cobra.Completion, cobra.ShellCompDirective) {
	if err := c.resolveGlobals(cmd); err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	parent := cmd.Context()
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, completionTimeout)
	defer cancel()
	cl, err := c.dial(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer cl.Close()
	return fn(ctx, cl), cobra.ShellCompDirectiveNoFileComp
}

func (c *cli) completeTasks(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return c.askHost(cmd, func(ctx context.Context, cl *control.Client) []cobra.Completion {
		tasks, err := cl.Tasks(ctx)
		if err != nil {
			return nil
		}
		var out []cobra.Completion
		for _, t := range tasks {
			if strings.HasPrefix(t.Name, toComplete) {
				out = append(out, cobra.CompletionWithDesc(t.Name, t.Description))
			}
		}
		return out
	})
}

// completeJobs completes the ids of the newest jobs in states (any state
// when none), leaving out ids already on the command line.
func (c *cli) completeJobs(states []host.State) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return c.askHost(cmd, func(ctx context.Context, cl *control.Client) []cobra.Completion {
			jobs, _, err := cl.List(ctx, host.ListFilter{States: states, Limit: 200})
			if err != nil {
				return nil
			}
			var out []cobra.Completion
			for _, j := range jobs {
				if strings.HasPrefix(j.ID, toComplete) && !slices.Contains(args, j.ID) {
					out = append(out, cobra.CompletionWithDesc(j.ID, fmt.Sprintf("%s %s", j.Task, j.State)))
				}
			}
			return out
		})
	}
}

func (c *cli) completeGroups(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return c.askHost(cmd, func(ctx context.Context, cl *control.Client) []cobra.Completion {
		groups, _, err := cl.ListGroups(ctx, "", 200)
		if err != nil {
			return nil
		}
		var out []cobra.Completion
		for _, g := range groups {
			if strings.HasPrefix(g.ID, toComplete) {
				out = append(out, cobra.CompletionWithDesc(g.ID, g.Name))
			}
		}
		return out
	})
}

func (c *cli) completeSchedules(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return c.askHost(cmd, func(ctx context.Context, cl *control.Client) []cobra.Completion {
		scheds, err := cl.ListSchedules(ctx)
		if err != nil {
			return nil
		}
		var out []cobra.Completion
		for _, s := range scheds {
			if strings.HasPrefix(s.Name, toComplete) {
				out = append(out, cobra.CompletionWithDesc(s.Name, s.Cron))
			}
		}
		return out
	})
}
