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
	"github.com/batchhost/batchhost/host/internal/cronspec"
)

func (c *cli) scheduleCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Run jobs periodically: add, list, inspect, pause, trigger and remove schedules",
		Args:  cobra.ArbitraryArgs,
		RunE:  needSubcommand,
	}
	cmd.AddCommand(
		c.scheduleAddCmd(),
		c.scheduleListCmd(),
		c.scheduleGetCmd(),
		c.scheduleOpCmd("pause", "Stop a schedule from firing until it is resumed", (*control.Client).PauseSchedule),
		c.scheduleOpCmd("resume", "Let a paused schedule fire again, from its next time after now", (*control.Client).ResumeSchedule),
		c.scheduleRmCmd(),
		c.scheduleTriggerCmd(),
	)
	return cmd
}

// choiceValue is a flag that accepts one of a few words, so that a typo is
// a usage error at parse time rather than a refusal from the host.
type choiceValue struct {
	val     string
	what    string
	choices []string
}

func (v *choiceValue) String() string { return v.val }
func (v *choiceValue) Type() string   { return strings.Join(v.choices, "|") }
func (v *choiceValue) Set(s string) error {
	if !slices.Contains(v.choices, s) {
		last := len(v.choices) - 1
		return fmt.Errorf("unknown %s %q (want %s or %s)", v.what, s, strings.Join(v.choices[:last], ", "), v.choices[last])
	}
	v.val = s
	return nil
}

// scheduleRefused are the job flags a schedule cannot take, each with the
// reason: the schedule itself decides them for every run.
var scheduleRefused = []struct{ flag, why string }{
	{"after", "its runs cannot depend on other jobs (--overlap queue chains a run behind the previous one)"},
	{"key", "each run's key is made from the schedule and its fire time"},
	{"delay", "runs start at their fire time (--jitter spreads them out)"},
	{"wait", `there is no single job to wait for ("batchhost schedule trigger" prints one to wait on)`},
}

func (c *cli) scheduleAddCmd() *cobra.Command {
	var (
		jf      jobFlags
		spec    host.ScheduleSpec
		overlap = choiceValue{what: "overlap policy", choices: []string{"skip", "allow", "queue"}}
		missed  = choiceValue{what: "missed-run policy", choices: []string{"skip", "none"}}
	)
	cmd := &cobra.Command{
		Use:   "add NAME --cron SPEC TASK [flags]",
		Short: "Add a schedule that submits a job at the times --cron names",
		Long: `Add a schedule and print its id (with --json, the schedule).

--cron takes 5 fields (minute hour day-of-month month day-of-week, e.g.
"0 3 * * *"), 6 with seconds first, or a descriptor: "@every 15m" (at least
1s), @hourly, @daily, @weekly, @monthly, @yearly. --tz names its time zone
(an IANA name such as Europe/Berlin; default: the host's local zone).

--overlap says what happens when a firing comes while the previous run is
unfinished: skip it (the default), allow a second run, or queue at most one
run behind the unfinished one. --missed says what happens to firings due
while the host was down: skip (the default) fires once if any was missed,
none fires none of them. The job flags make the template of every run.`,
		Args: needTask("a schedule NAME and a TASK", 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, r := range scheduleRefused {
				if cmd.Flags().Changed(r.flag) {
					return usageErrorf("--%s cannot be used with a schedule: %s", r.flag, r.why)
				}
			}
			if strings.TrimSpace(spec.Cron) == "" {
				return usageErrorf(`--cron is required: a cron spec such as "0 3 * * *" or "@every 15m"`)
			}
			// The host parses it with the same rules; a mistake in the
			// command line is a usage error, not a refusal.
			if _, err := cronspec.Parse(spec.Cron, spec.TimeZone); err != nil {
				return usageErrorf("invalid --cron: %v", err)
			}
			job, err := jf.spec(args[1])
			if err != nil {
				return err
			}
			spec.Name, spec.Job = args[0], job
			spec.Overlap, spec.Missed = host.Overlap(overlap.val), host.Missed(missed.val)
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				id, err := cl.CreateSchedule(ctx, spec)
				if err != nil {
					return unknownTask(ctx, cl, spec.Job.Task, err)
				}
				if c.json {
					return c.printSchedule(ctx, cl, id)
				}
				_, err = fmt.Fprintln(c.stdout, id)
				return err
			})
		},
	}
	fl := cmd.Flags()
	jf.register(fl)
	// The refused flags exist only to be refused with a reason, rather
	// than as "unknown flag"; help does not show them.
	fl.Bool("wait", false, "")
	for _, r := range scheduleRefused {
		fl.MarkHidden(r.flag)
	}
	fl.StringVar(&spec.Cron, "cron", "", "when to fire: a cron `SPEC` or @every DUR, @hourly, @daily, ... (required)")
	fl.StringVar(&spec.TimeZone, "tz", "", "IANA time `ZONE` of --cron (default: the host's local zone)")
	fl.Var(&overlap, "overlap", "when the previous run is unfinished: skip, allow or queue (default skip)")
	fl.Var(&missed, "missed", "firings missed while the host was down: skip (fire once) or none (default skip)")
	fl.DurationVar(&spec.Jitter, "jitter", 0, "delay each run by a random amount up to `DUR`, to spread load")
	fl.BoolVar(&spec.Paused, "paused", false, "create the schedule paused")
	return cmd
}

func (c *cli) scheduleListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List schedules by name: next and last fire, last run's state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				list, err := cl.ListSchedules(ctx)
				if err != nil {
					return err
				}
				if c.json {
					if list == nil {
						list = []*host.Schedule{}
					}
					return c.printJSON(list)
				}
				now := time.Now()
				tw := table(c.stdout)
				row(tw, "NAME", "CRON", "TZ", "NEXT FIRE", "LAST FIRE", "LAST JOB STATE", "PAUSED")
				for _, s := range list {
					next := "-"
					if len(s.Next) > 0 {
						next = fireTime(s.Next[0], now)
					}
					last := "-"
					if s.LastFire != nil {
						last = fireTime(*s.LastFire, now)
					}
					row(tw, s.Name, s.Cron, zoneName(s.TimeZone), next, last, dash(string(s.LastState)), yesNo(s.Paused))
				}
				return tw.Flush()
			})
		},
	}
}

func (c *cli) scheduleGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME|ID",
		Short: "Show a schedule and its next 5 fire times",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				return c.printSchedule(ctx, cl, args[0])
			})
		},
	}
}

func (c *cli) scheduleOpCmd(name, short string, op func(*control.Client, context.Context, string) error) *cobra.Command {
	return &cobra.Command{
		Use:   name + " NAME|ID",
		Short: short,
		Long:  short + ", then print the schedule.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				if err := op(cl, ctx, args[0]); err != nil {
					return err
				}
				return c.printSchedule(ctx, cl, args[0])
			})
		},
	}
}

func (c *cli) scheduleRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME|ID",
		Short: "Remove a schedule (the jobs it fired stay)",
		Long: `Remove a schedule. The jobs it fired stay, running ones included.
Prints what was removed (with --json, the schedule as it was).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				// Resolve the name first and delete by id, so that what is
				// printed is exactly what was removed.
				s, err := cl.GetSchedule(ctx, args[0])
				if err != nil {
					return err
				}
				if err := cl.DeleteSchedule(ctx, s.ID); err != nil {
					return err
				}
				if c.json {
					return c.printJSON(s)
				}
				_, err = fmt.Fprintf(c.stdout, "removed schedule %s (%s)\n", s.Name, s.ID)
				return err
			})
		},
	}
}

func (c *cli) scheduleTriggerCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "trigger NAME|ID",
		Short: "Fire a schedule now and print the job's id",
		Long: `Fire a schedule now, whatever its times and overlap policy (a paused one
too), and print the job's id (with --json, the job).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withClient(cmd, func(ctx context.Context, cl *control.Client) error {
				id, err := cl.TriggerSchedule(ctx, args[0])
				if err != nil {
					return err
				}
				return c.printNewJob(ctx, cl, id)
			})
		},
	}
}

func (c *cli) printSchedule(ctx context.Context, cl *control.Client, idOrName string) error {
	s, err := cl.GetSchedule(ctx, idOrName)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(s)
	}
	return c.showSchedule(s, time.Now())
}

// showSchedule is the human view of a schedule: a field a line, then the
// next fire times in the schedule's zone.
func (c *cli) showSchedule(s *host.Schedule, now time.Time) error {
	tw := table(c.stdout)
	row(tw, "id", s.ID)
	row(tw, "name", s.Name)
	row(tw, "cron", s.Cron)
	row(tw, "time zone", zoneName(s.TimeZone))
	row(tw, "task", s.Task)
	row(tw, "args", compactJSON(s.Args))
	row(tw, "priority", s.Priority)
	row(tw, "group", dash(s.Group))
	for _, k := range sortedKeys(s.Labels) {
		row(tw, "label", k+"="+s.Labels[k])
	}
	attempts := "host default"
	if s.MaxAttempts > 0 {
		attempts = fmt.Sprint(s.MaxAttempts)
	}
	row(tw, "attempts", attempts)
	timeout := "host default"
	if s.Timeout > 0 {
		timeout = time.Duration(s.Timeout).String()
	}
	row(tw, "timeout", timeout)
	resources := "task default"
	if s.Resources != nil {
		resources = s.Resources.String()
	}
	row(tw, "resources", resources)
	row(tw, "overlap", s.Overlap)
	row(tw, "missed", s.Missed)
	jitter := "-"
	if s.Jitter > 0 {
		jitter = time.Duration(s.Jitter).String()
	}
	row(tw, "jitter", jitter)
	row(tw, "paused", yesNo(s.Paused))
	row(tw, "created", stamp(&s.CreatedAt, now))
	last := "-"
	if s.LastFire != nil {
		last = fireTime(*s.LastFire, now)
	}
	row(tw, "last fire", last)
	lastJob := "-"
	if s.LastJob != "" {
		lastJob = s.LastJob + " (" + dash(string(s.LastState)) + ")"
	}
	row(tw, "last job", lastJob)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Next) == 0 {
		why := "it never fires again"
		if s.Paused {
			why = "paused"
		}
		_, err := fmt.Fprintf(c.stdout, "\nnext fire times: none (%s)\n", why)
		return err
	}
	fmt.Fprintln(c.stdout, "\nnext fire times:")
	for _, t := range s.Next {
		fmt.Fprintln(c.stdout, "  "+fireTime(t, now))
	}
	return nil
}

// fireTime renders a fire time in the zone it carries (the schedule's),
// with the zone's abbreviation and how far away it is.
func fireTime(t, now time.Time) string {
	return t.Format("2006-01-02 15:04:05 MST") + " (" + ago(t, now) + ")"
}

// zoneName shows the host's local zone, which a schedule stores as "".
func zoneName(tz string) string {
	if tz == "" {
		return "local"
	}
	return tz
}
