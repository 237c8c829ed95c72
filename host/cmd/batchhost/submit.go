package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (c *cli) submitCmd() *cobra.Command {
	var (
		jf    jobFlags
		batch string
		wait  bool
	)
	cmd := &cobra.Command{
		Use:   "submit TASK [flags] | submit --batch FILE",
		Short: "Submit a job (or a file of jobs) and print its id",
		Long: `Submit a job and print its id (with --json, the job).

With --batch FILE ("-" for stdin) every line is one JSON job spec:
  {"task": "chaos.echo", "args": {...}, "priority": "high", "depends_on": ["ID"],
   "group": "GID", "max_attempts": 3, "timeout": "30s", "key": "K"}
All of them are committed at once, or none; one id a line is printed (with
--json, a JSON array of ids). Errors name the line. A file bigger than one
request carries (16 MiB of specs) is sent in runs of that size, each
committed at once or not at all; a refusal says which lines went in.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("batch") {
				if batch == "" {
					return usageErrorf("--batch needs a file name (or - for stdin)")
				}
				if len(args) > 0 {
					return usageErrorf("--batch takes no TASK argument (got %q): put the task in the job lines", args[0])
				}
				return nil
			}
			return needTask("a task name", 1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if batch != "" {
				for _, name := range append(jobFlagNames, "wait") {
					if cmd.Flags().Changed(name) {
						return usageErrorf("--%s cannot be combined with --batch: put it in the job lines", name)
					}
				}
				return c.submitBatch(cmd, batch)
			}
			spec, err := jf.spec(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cl, err := c.dial(ctx)
			if err != nil {
				return err
			}
			defer cl.Close()
			id, err := cl.Submit(ctx, spec)
			if err != nil {
				return unknownTask(ctx, cl, spec.Task, err)
			}
			if wait {
				if !c.json {
					fmt.Fprintln(c.stdout, id)
				}
				return c.waitJobs(ctx, cl, []string{id})
			}
			return c.printNewJob(ctx, cl, id)
		},
	}
	jf.register(cmd.Flags())
	cmd.Flags().StringVar(&batch, "batch", "", "submit the JSON job specs in `FILE`, one a line (- for stdin)")
	cmd.MarkFlagFilename("batch")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the job to finish (exit codes as for wait)")
	return cmd
}
