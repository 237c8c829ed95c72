package cronspec

import (
	"strings"
	"testing"
	"time"
)

func TestParseErrorsNameTheProblem(t *testing.T) {
	tests := []struct {
		spec, zone, want string
	}{
		{"", "", "empty"},
		{"61 * * * *", "", `minute field "61"`},
		{"* 25 * * *", "", `hour field "25"`},
		{"* * * 13 *", "", `month field "13"`},
		{"* * * * mon-xyz", "", `day-of-week field "mon-xyz"`},
		{"70 * * * * *", "", `second field "70"`},
		{"* * *", "", "want 5 fields"},
		{"@every 500ms", "", "below the minimum"},
		{"@every soon", "", "not a duration"},
		{"@sometimes", "", "@sometimes"},
		{"0 3 * * *", "Mars/Olympus", `unknown time zone "Mars/Olympus"`},
		{"CRON_TZ=UTC 0 3 * * *", "", "time zone setting"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.spec, tc.zone)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q, %q) = %v, want error containing %q", tc.spec, tc.zone, err, tc.want)
		}
	}
	for _, ok := range []string{"*/5 * * * *", "0 0 3 * * *", "@every 1s", "@hourly", "@daily", "@weekly", "0 9 * * mon-fri"} {
		if _, err := Parse(ok, "Europe/Berlin"); err != nil {
			t.Errorf("Parse(%q): %v", ok, err)
		}
	}
}

// TestDST checks a daily 02:30 spec across both DST changes in Berlin: on
// the spring day 02:30 does not exist and it fires at 03:30; on the autumn
// day 02:30 exists twice and it fires at the first.
func TestDST(t *testing.T) {
	s, err := Parse("30 2 * * *", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	berlin := s.Location()
	for _, tc := range []struct {
		from time.Time
		want string
	}{
		{time.Date(2026, 3, 27, 12, 0, 0, 0, berlin), "03-28 02:30 CET,03-29 03:30 CEST,03-30 02:30 CEST,03-31 02:30 CEST"},
		{time.Date(2026, 10, 23, 12, 0, 0, 0, berlin), "10-24 02:30 CEST,10-25 02:30 CEST,10-26 02:30 CET,10-27 02:30 CET"},
	} {
		var got []string
		tm := tc.from
		for range 4 {
			tm = s.Next(tm)
			got = append(got, tm.In(berlin).Format("01-02 15:04 MST"))
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("from %s: %v\nwant %s", tc.from, got, tc.want)
		}
	}
	// @every is relative to the previous firing and ignores the zone.
	e, _ := Parse("@every 90m", "America/New_York")
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if got := e.Next(t0); got.Sub(t0) != 90*time.Minute {
		t.Errorf("@every 90m next after %s = %s", t0, got)
	}
}

func TestFrequentSpecSkipsTheRepeatedHourOnce(t *testing.T) {
	s, _ := Parse("*/10 * * * *", "Europe/Berlin")
	berlin := s.Location()
	tm := time.Date(2026, 10, 25, 0, 45, 0, 0, time.UTC) // 02:45 CEST, before the fall-back
	var got []string
	for range 4 {
		tm = s.Next(tm)
		got = append(got, tm.In(berlin).Format("15:04 MST"))
	}
	want := "02:50 CEST,03:00 CET,03:10 CET,03:20 CET"
	if strings.Join(got, ",") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

// TestSevenIsSunday: most crons accept 7 for Sunday in the day-of-week
// field, alone, as a range end, and under a step.
func TestSevenIsSunday(t *testing.T) {
	// 2026-11-28 is a Saturday.
	from := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		spec string
		want string // weekdays of the next 4 firings
	}{
		{"0 3 * * 7", "Sun Sun Sun Sun"},
		{"0 3 * * 5-7", "Sun Fri Sat Sun"},
		{"0 3 * * 1-7/2", "Sun Mon Wed Fri"},
		{"0 3 * * 2-7/2", "Tue Thu Sat Tue"},
		{"0 3 * * 7-7", "Sun Sun Sun Sun"},
		{"0 3 * * 3,7", "Sun Wed Sun Wed"},
		{"0 0 3 * * 7", "Sun Sun Sun Sun"},
	} {
		s, err := Parse(tc.spec, "UTC")
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		var got []string
		for tm, i := from, 0; i < 4; i++ {
			tm = s.Next(tm)
			got = append(got, tm.Format("Mon"))
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%q fires on %s, want %s", tc.spec, g, tc.want)
		}
	}
	// A bad day-of-week is still named as such, in the spec as written.
	if _, err := Parse("0 3 * * 8", "UTC"); err == nil || !strings.Contains(err.Error(), `day-of-week field "8"`) || !strings.Contains(err.Error(), `"0 3 * * 8"`) {
		t.Errorf("day-of-week 8: %v", err)
	}
}
