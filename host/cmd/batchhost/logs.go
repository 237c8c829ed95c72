package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
)

func (c *cli) logsCmd() *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs ID [--follow]",
		Short: "Print a job's log records",
		Long: `Print the log records a job's task wrote, oldest first: time, attempt,
level, message and fields. With --json, one JSON object a line.
--follow goes on printing new records until the job is finished.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, err := c.dial(ctx)
			if err != nil {
				return err
			}
			defer cl.Close()
			w := bufio.NewWriter(c.stdout)
			defer w.Flush()
			emit := func(r host.LogRecord) error {
				if err := c.writeLog(w, r); err != nil {
					return err
				}
				if follow {
					return w.Flush()
				}
				return nil
			}
			if follow {
				return cl.FollowLogs(ctx, args[0], emit)
			}
			// Printed as they arrive: a log of any size, in little memory.
			return cl.EachLog(ctx, args[0], emit)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new records until the job is finished")
	return cmd
}

// writeLog prints one record: JSON a line, or
// "15:04:05.000 #1 INFO  message key=value ...".
func (c *cli) writeLog(w *bufio.Writer, r host.LogRecord) error {
	if c.json {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		w.Write(b)
		return w.WriteByte('\n')
	}
	line := fmt.Sprintf("%s #%d %-5s %s", r.Time.Format("2006-01-02 15:04:05.000"), r.Attempt, strings.ToUpper(r.Level), r.Message)
	if f := fieldsText(r.Fields); f != "" {
		line += " " + f
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

// fieldsText renders a record's fields as key=value pairs, sorted.
func fieldsText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return string(raw)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	var parts []string
	slices.Sort(keys)
	for _, k := range keys {
		v, _ := json.Marshal(m[k])
		s := string(v)
		if str, ok := m[k].(string); ok && !strings.ContainsAny(str, " \t\"=") {
			s = str
		}
		parts = append(parts, k+"="+s)
	}
	return strings.Join(parts, " ")
}
