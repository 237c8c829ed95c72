package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

func (c *cli) waitCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait ID... [--timeout DUR]",
		Short: "Wait for jobs to finish",
		Long: `Wait until every job is finished. On a terminal each job gets a live
progress bar; otherwise a line is printed as each job finishes (with --json,
the finished jobs as a JSON array at the end).

Exit codes: 0 all completed, 1 any failed or was canceled, 2 an error or
the timeout.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			if timeout < 0 {
				return usageErrorf("invalid --timeout %s: must not be negative", timeout)
			}
			// Dial first: --timeout bounds the wait, and a short one must
			// not pass for an unreachable host.
			ctx := cmd.Context()
			cl, err := c.dial(ctx)
			if err != nil {
				return err
			}
			defer cl.Close()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			return c.waitJobs(ctx, cl, ids)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (exit code 2); 0 waits forever")
	return cmd
}

type waited struct {
	i   int
	job *host.Job
	err error
}

// waitJobs waits for every job, showing them live on a terminal, and
// returns nil if all completed, an exitError 1 if any failed or was
// canceled, and an exitError 2 on any error (unknown id, timeout).
func (c *cli) waitJobs(ctx context.Context, cl *control.Client, ids []string) error {
	var view *liveView
	var events <-chan host.Event
	if !c.json && isTerminal(c.stdout) {
		// Subscribe before the first snapshot so no change is missed.
		st, err := cl.Watch(ctx, host.EventFilter{Jobs: ids, Types: []host.EventType{host.EventJobState, host.EventJobProgress}})
		if err != nil {
			return waitFailed(timedOut(err, len(ids), len(ids)))
		}
		defer st.Close()
		stop := make(chan struct{})
		defer close(stop)
		events = relay(st, stop)
	}
	jobs := make([]*host.Job, len(ids))
	for i, id := range ids {
		j, err := cl.Get(ctx, id)
		if err != nil {
			return waitFailed(timedOut(fmt.Errorf("wait %s: %w", id, err), len(ids), len(ids)))
		}
		jobs[i] = j
	}
	if events != nil {
		view = newLiveView(c.stdout, jobs)
		view.draw()
	}
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan waited, len(ids))
	for i, id := range ids {
		go func() {
			j, err := cl.Wait(waitCtx, id)
			results <- waited{i, j, err}
		}()
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	finished := make([]*host.Job, len(ids))
	var firstErr error
	for left := len(ids); left > 0; {
		select {
		case r := <-results:
			left--
			if r.err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("wait %s: %w", ids[r.i], r.err)
					cancel() // one error ends the wait: exit 2 either way
				}
				continue
			}
			finished[r.i] = r.job
			if view != nil {
				view.finish(r.i, r.job)
				view.draw()
			} else if !c.json {
				fmt.Fprintln(c.stdout, plainLine(r.job))
			}
		case e, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			view.apply(e)
		case <-tick.C:
			if view != nil && view.dirty {
				view.draw()
			}
		}
	}
	if view != nil {
		view.draw()
	}
	if firstErr != nil {
		return waitFailed(timedOut(firstErr, countNil(finished), len(ids)))
	}
	if c.json {
		if err := c.printJSON(finished); err != nil {
			return err
		}
	}
	for _, j := range finished {
		if j.State != host.StateCompleted {
			return &exitError{code: 1}
		}
	}
	return nil
}

// timedOut says how much a wait that ran out of time left unfinished;
// other errors pass unchanged.
func timedOut(err error, left, all int) error {
	if !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &reworded{fmt.Sprintf("timed out: %d of %d jobs not finished", left, all), context.DeadlineExceeded}
}

// waitFailed makes any error of wait exit 2, as the contract says: "1"
// means a job failed, so a refusal (unknown id) must not look like one.
func waitFailed(err error) error { return &exitError{code: 2, err: err} }

func countNil(jobs []*host.Job) int {
	n := 0
	for _, j := range jobs {
		if j == nil {
			n++
		}
	}
	return n
}

// relay turns an event stream into a channel, closed when the stream
// ends; it stops when stop is closed.
func relay(st *control.EventStream, stop <-chan struct{}) <-chan host.Event {
	ch := make(chan host.Event, 64)
	go func() {
		defer close(ch)
		for {
			e, err := st.Recv()
			if err != nil {
				return
			}
			select {
			case ch <- e:
			case <-stop:
				return
			}
		}
	}()
	return ch
}

// plainLine is the line printed for a finished job when not on a terminal.
func plainLine(j *host.Job) string {
	line := j.ID + " " + string(j.State)
	if j.Error != nil {
		line += ": " + errLine(j.Error)
	}
	return line
}
