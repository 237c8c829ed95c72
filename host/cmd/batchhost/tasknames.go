package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

// needTask is the Args check of commands that take a task name first and
// then n-1 more arguments: a missing task says where task names come
// from, rather than cobra's "accepts 1 arg(s), received 0".
func needTask(what string, n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		// exit 2 with a hint of its own rather than "see --help".
		path := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
		switch {
		case len(args) < n:
			return &exitError{code: 2, err: fmt.Errorf("%s needs %s (see \"batchhost tasks\")", path, what)}
		case len(args) > n:
			return &exitError{code: 2, err: fmt.Errorf("%s takes %s, got %d arguments: %q (task arguments go in --args)", path, what, len(args), args)}
		}
		return nil
	}
}

// unknownTask rewords the host's refusal of an unknown task: it names the
// task, the closest one the host offers when one is close (a typo, or the
// plugin left out), and the command that lists them. Other errors pass.
func unknownTask(ctx context.Context, cl *control.Client, task string, err error) error {
	switch {
	case errors.Is(err, host.ErrUnknownTask):
		return &reworded{fmt.Sprintf("unknown task %q%s", task, taskHint(ctx, cl, task)), err}
	case errors.Is(err, host.ErrInvalid) && strings.Contains(err.Error(), "<plugin>.<task>"):
		// A name without its plugin ("noop").
		return &reworded{err.Error() + taskHint(ctx, cl, task), err}
	}
	return err
}

// taskHint is the " (did you mean ...; see ...)" of an unknown task.
func taskHint(ctx context.Context, cl *control.Client, task string) string {
	var names []string
	if tasks, err := cl.Tasks(ctx); err == nil {
		for _, t := range tasks {
			names = append(names, t.Name)
		}
	}
	if best := closest(task, names); best != "" {
		return fmt.Sprintf(" (did you mean %q? \"batchhost tasks\" lists them)", best)
	}
	if len(names) == 0 {
		return " (the host has no tasks: are its plugins in --plugin-dir?)"
	}
	return " (\"batchhost tasks\" lists the tasks the host offers)"
}

// closest returns the name nearest to s, if it is near enough to be a
// typo (an edit distance, ignoring case, of at most a third of the task
// part's length, and at least 1), or else the same task name under
// another plugin ("chaos.echo" for "echo" or "docs.echo"). "" when none is.
func closest(s string, names []string) string {
	_, bare, found := strings.Cut(s, ".")
	if !found {
		bare = s
	}
	best, bestDist := "", max(1, len([]rune(bare))/3)+1
	for _, n := range names {
		if d := editDistance(strings.ToLower(s), strings.ToLower(n)); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best != "" {
		return best
	}
	for _, n := range names {
		if _, t, _ := strings.Cut(n, "."); t == bare {
			return n
		}
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
