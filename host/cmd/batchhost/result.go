package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

func (c *cli) resultCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "result ID",
		Short: "Print a completed job's result (JSON)",
		Long: `Print a completed job's result JSON on stdout ("null" if the task returned
none). A job that did not complete is an error saying why (exit code 1).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, err := c.dial(ctx)
			if err != nil {
				return err
			}
			defer cl.Close()
			var raw json.RawMessage
			if err := cl.Result(ctx, args[0], &raw); err != nil {
				return err
			}
			if len(raw) == 0 {
				raw = json.RawMessage("null")
			}
			var buf bytes.Buffer
			if c.json {
				err = json.Indent(&buf, raw, "", "  ")
			} else {
				err = json.Compact(&buf, raw)
			}
			if err != nil {
				buf.Reset()
				buf.Write(raw)
			}
			_, err = fmt.Fprintln(c.stdout, buf.String())
			return err
		},
	}
}
