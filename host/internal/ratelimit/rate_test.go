package ratelimit

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseReadsCountUnitAndBurst(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rate
		per  float64 // events per second
	}{
		{"10/s", Rate{N: 10, Per: time.Second, Burst: 1}, 10},
		{"600/m", Rate{N: 600, Per: time.Minute, Burst: 1}, 10},
		{"2.5/s", Rate{N: 2.5, Per: time.Second, Burst: 1}, 2.5},
		{"100/h", Rate{N: 100, Per: time.Hour, Burst: 1}, 100.0 / 3600},
		{"10/s:20", Rate{N: 10, Per: time.Second, Burst: 20}, 10},
		{" 0.5 / m : 3 ", Rate{N: 0.5, Per: time.Minute, Burst: 3}, 0.5 / 60},
		{"1/h:1", Rate{N: 1, Per: time.Hour, Burst: 1}, 1.0 / 3600},
		{".5/s", Rate{N: 0.5, Per: time.Second, Burst: 1}, 0.5},
	} {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tc.in, d)
		}
		if got.PerSecond() != tc.per {
			t.Errorf("Parse(%q).PerSecond() = %v, want %v", tc.in, got.PerSecond(), tc.per)
		}
		if err := got.Check(); err != nil {
			t.Errorf("Parse(%q) returned a rate Check refuses: %v", tc.in, err)
		}
	}
}

func TestParseRefusesWithOneLineSayingWhy(t *testing.T) {
	for _, tc := range []struct{ in, why string }{
		{"", "no /UNIT"},
		{"10", "no /UNIT"},
		{"10/x", `unit "x" is not s, m or h`},
		{"10/sec", `unit "sec" is not s, m or h`},
		{"10/", `unit "" is not s, m or h`},
		{"/s", `count "" is not a decimal number`},
		{"0/s", `count "0" is not a number above 0`},
		{"0.0/s", `count "0.0" is not a number above 0`},
		{"-1/s", `count "-1" is not a decimal number`},
		{"+1/s", `count "+1" is not a decimal number`},
		{"1e3/s", `count "1e3" is not a decimal number`},
		{"inf/s", `count "inf" is not a decimal number`},
		{"NaN/s", `count "NaN" is not a decimal number`},
		{"1.2.3/s", `count "1.2.3" is not a decimal number`},
		{"10/s:", `burst "" is not a whole number from 1 to 1000000`},
		{"10/s:0", `burst "0" is not a whole number from 1 to 1000000`},
		{"10/s:-2", `burst "-2" is not a whole number from 1 to 1000000`},
		{"10/s:+2", `burst "+2" is not a whole number from 1 to 1000000`},
		{"10/s:1.5", `burst "1.5" is not a whole number from 1 to 1000000`},
		{"10/s:1000001", `burst "1000001" is not a whole number from 1 to 1000000`},
		{"10/s:2:3", `burst "2:3" is not a whole number from 1 to 1000000`},
		{"2000000000/s", "more than one per nanosecond"},
		{"0.000001/h:1000000", "too slow for a burst of 1000000"},
	} {
		got, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", tc.in, got)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.why) || !strings.HasPrefix(msg, "rate "+quote(tc.in)+": ") || strings.Contains(msg, "\n") {
			t.Errorf("Parse(%q) error %q, want one line starting with the input and saying %q", tc.in, msg, tc.why)
		}
		if !strings.Contains(msg, "e.g. 10/s") {
			t.Errorf("Parse(%q) error %q does not show the expected form", tc.in, msg)
		}
	}
}

func quote(s string) string { return `"` + s + `"` }

func TestStringIsReadBackByParse(t *testing.T) {
	for _, in := range []string{"10/s", "600/m", "2.5/s", "100/h", "10/s:20", "0.25/h:4"} {
		r, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if r.String() != in {
			t.Errorf("Parse(%q).String() = %q", in, r.String())
		}
		back, err := Parse(r.String())
		if err != nil || back != r {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", r.String(), back, err, r)
		}
	}
	if s := (Rate{N: 5, Per: 2 * time.Second}).String(); s != "2.5/s" {
		t.Errorf("5 per 2s written %q, want 2.5/s", s)
	}
}

func TestCheckRefusesWhatNoBucketEnforces(t *testing.T) {
	for _, r := range []Rate{
		{},
		{N: 1},
		{N: -1, Per: time.Second},
		{N: 1, Per: -time.Second},
		{N: 1, Per: time.Second, Burst: -1},
		{N: 1, Per: time.Second, Burst: MaxBurst + 1},
	} {
		if err := r.Check(); err == nil {
			t.Errorf("Check(%+v) = nil, want an error", r)
		}
	}
	if err := (Rate{N: 3, Per: time.Second}).Check(); err != nil {
		t.Errorf("zero burst (means 1): %v", err)
	}
}

func TestParseNamedReadsTaskOrPluginEqualsRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		name string
		want Rate
	}{
		{"docs.ocr=10/s", "docs.ocr", Rate{N: 10, Per: time.Second, Burst: 1}},
		{" exec = 600/m:20 ", "exec", Rate{N: 600, Per: time.Minute, Burst: 20}},
	} {
		name, r, err := ParseNamed(tc.in)
		if err != nil || name != tc.name || r != tc.want {
			t.Errorf("ParseNamed(%q) = %q, %+v, %v; want %q, %+v", tc.in, name, r, err, tc.name, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"docs.ocr", `rate "docs.ocr": want TASK=RATE or PLUGIN=RATE`},
		{"=10/s", `rate "=10/s": want TASK=RATE or PLUGIN=RATE`},
		{"docs.ocr=10/x", `docs.ocr: rate "10/x": unit "x" is not s, m or h`},
		{"docs=", `docs: rate "": no /UNIT`},
	} {
		_, _, err := ParseNamed(tc.in)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ParseNamed(%q) error %v, want it to start with %q", tc.in, err, tc.want)
		}
	}
}
