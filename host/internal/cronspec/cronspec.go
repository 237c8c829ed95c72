// Package cronspec parses schedule specs — 5-field cron, 6 fields with
// seconds first, and descriptors (@every 15m, @hourly, @daily, ...) — in a
// time zone, with errors that name the field at fault. Parsing itself is
// robfig/cron's; this package adds the checks and messages batchhost
// promises.
package cronspec

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// MinEvery is the shortest @every interval accepted.
const MinEvery = time.Second

var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Spec is a parsed schedule spec in its time zone.
type Spec struct {
	sched cron.Schedule
	loc   *time.Location
}

var fieldNames5 = []string{"minute", "hour", "day-of-month", "month", "day-of-week"}
var fieldNames6 = []string{"second", "minute", "hour", "day-of-month", "month", "day-of-week"}

// Parse parses spec in the named IANA zone ("" is the local zone).
func Parse(spec, zone string) (*Spec, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("empty schedule spec")
	}
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, fmt.Errorf("put the time zone in the time zone setting, not in the spec %q", spec)
	}
	loc := time.Local
	if zone != "" {
		l, err := time.LoadLocation(zone)
		if err != nil {
			return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as Europe/Berlin)", zone)
		}
		loc = l
	}
	if rest, ok := strings.CutPrefix(spec, "@every"); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("@every %q: not a duration (e.g. @every 15m)", strings.TrimSpace(rest))
		}
		if d < MinEvery {
			return nil, fmt.Errorf("@every %s is below the minimum of %s", d, MinEvery)
		}
	}
	parsed := sundayAsSeven(spec)
	sched, err := parser.Parse(parsed)
	if err != nil {
		return nil, fmt.Errorf("schedule spec %q: %s", spec, explain(parsed, err))
	}
	return &Spec{sched: sched, loc: loc}, nil
}

// sundayAsSeven rewrites a day-of-week 7 to 0, as most crons accept 7 for
// Sunday and robfig/cron does not: "7" becomes "0", and a range ending at
// 7 ("5-7", "1-7/2") ends at 6 and adds 0 when its step reaches 7.
// Anything it does not recognise is left for the parser to judge.
func sundayAsSeven(spec string) string {
	fields := strings.Fields(spec)
	if strings.HasPrefix(spec, "@") || (len(fields) != 5 && len(fields) != 6) {
		return spec
	}
	dow := fields[len(fields)-1]
	parts := strings.Split(dow, ",")
	var out []string
	for _, p := range parts {
		base, step, hasStep := strings.Cut(p, "/")
		switch lo, hi, isRange := strings.Cut(base, "-"); {
		case base == "7":
			out = append(out, "0")
		case isRange && hi == "7":
			from, err := strconv.Atoi(lo)
			n := 1
			if hasStep {
				n, _ = strconv.Atoi(step)
			}
			if err != nil || from < 0 || from > 7 || n <= 0 {
				out = append(out, p)
				continue
			}
			if from < 7 {
				r := lo + "-6"
				if hasStep {
					r += "/" + step
				}
				out = append(out, r)
			}
			if (7-from)%n == 0 {
				out = append(out, "0")
			}
		default:
			out = append(out, p)
		}
	}
	fields[len(fields)-1] = strings.Join(out, ",")
	return strings.Join(fields, " ")
}

// explain names the field that fails, by parsing each field alone with
// the others wildcarded; robfig's own message does not say which.
func explain(spec string, err error) string {
	fields := strings.Fields(spec)
	if strings.HasPrefix(spec, "@") || (len(fields) != 5 && len(fields) != 6) {
		if !strings.HasPrefix(spec, "@") {
			return fmt.Sprintf("want 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got %d", len(fields))
		}
		return err.Error()
	}
	names := fieldNames5
	if len(fields) == 6 {
		names = fieldNames6
	}
	for i, f := range fields {
		probe := make([]string, len(fields))
		for j := range probe {
			probe[j] = "*"
		}
		probe[i] = f
		if _, perr := parser.Parse(strings.Join(probe, " ")); perr != nil {
			return fmt.Sprintf("%s field %q: %v", names[i], f, perr)
		}
	}
	return err.Error()
}

// Next returns the first firing strictly after t, in the spec's zone, or
// the zero time if the spec never fires again.
//
// A calendar spec is matched against wall-clock time, as cron does: when
// clocks spring forward over the spec's time, it fires at the
// corresponding instant after the gap (02:30 → 03:30) rather than skipping
// the day; when clocks fall back and a wall-clock time occurs twice, it
// fires once, at the first occurrence. (robfig/cron alone skips the first
// and fires twice for the second.) @every ignores wall clocks.
func (s *Spec) Next(t time.Time) time.Time {
	if _, every := s.sched.(cron.ConstantDelaySchedule); every {
		return s.sched.Next(t)
	}
	wall := naive(t.In(s.loc))
	// The bound only guards against a zone database gone wrong; a few
	// steps cover any real transition.
	for range 100000 {
		wall = s.sched.Next(wall)
		if wall.IsZero() {
			return time.Time{}
		}
		if at, ok := s.instant(wall, t); ok {
			return at
		}
	}
	return time.Time{}
}

// instant maps a wall-clock reading to the earliest instant after t that
// shows it (or, in a spring-forward gap, that follows it).
func (s *Spec) instant(wall, t time.Time) (time.Time, bool) {
	at := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), s.loc)
	// An ambiguous reading (the repeated hour) may have been resolved to
	// its second occurrence; prefer the first if it is still ahead.
	for _, d := range []time.Duration{-time.Hour, -30 * time.Minute} {
		if c := at.Add(d); naive(c.In(s.loc)).Equal(wall) && c.After(t) {
			at = c
			break
		}
	}
	return at, at.After(t)
}

// naive reads t's wall clock as if it were UTC, a timeline without DST.
func naive(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// Location is the spec's time zone.
func (s *Spec) Location() *time.Location { return s.loc }
