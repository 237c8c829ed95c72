package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

// printJSON writes v as indented JSON: the stable machine output.
func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printNewJob answers a command that made a job: its id, or with --json
// the job itself.
func (c *cli) printNewJob(ctx context.Context, cl *control.Client, id string) error {
	if c.json {
		j, err := cl.Get(ctx, id)
		if err != nil {
			return err
		}
		return c.printJSON(j)
	}
	_, err := fmt.Fprintln(c.stdout, id)
	return err
}

// table writes aligned columns; call flush when done.
func table(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// row writes one tab-separated row.
func row(w io.Writer, cols ...any) {
	for i, col := range cols {
		if i > 0 {
			io.WriteString(w, "\t")
		}
		fmt.Fprint(w, col)
	}
	io.WriteString(w, "\n")
}

// dash shows an empty value as "-" so that columns stay aligned.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ago renders a time relative to now, short: "3s ago", "2h0m ago", "in
// 5m0s". Beyond farAway it says so: a Duration cannot hold more than about
// 292 years (time.Sub saturates there), and such a time is no date anyone
// waits for.
func ago(t time.Time, now time.Time) string {
	switch {
	case t.IsZero():
		return "-"
	case t.After(now.AddDate(farAway, 0, 0)):
		return fmt.Sprintf("in over %d years", farAway)
	case t.Before(now.AddDate(-farAway, 0, 0)):
		return fmt.Sprintf("over %d years ago", farAway)
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + short(-d)
	}
	return short(d) + " ago"
}

// farAway is how many years away a time may be and still be shown as a
// duration by ago.
const farAway = 100

// short renders a duration with one or two units: 850ms, 12s, 3m20s, 5h2m, 3d4h.
func short(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	days := int(d / (24 * time.Hour))
	return fmt.Sprintf("%dd%dh", days, int((d%(24*time.Hour))/time.Hour))
}

// stamp renders a time for detail views: local, to the millisecond, and
// how long ago.
func stamp(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02 15:04:05.000") + " (" + ago(*t, now) + ")"
}

// errLine renders a job error for one line: "kind: message (exit ...)".
func errLine(e *host.JobError) string {
	if e == nil {
		return ""
	}
	return oneLine(e.Error())
}

// percent renders a fraction 0..1 as "42%".
func percent(f float64) string {
	return fmt.Sprintf("%d%%", int(f*100+0.5))
}

// compactJSON shows a JSON value on one line.
func compactJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "-"
	}
	return string(raw)
}
