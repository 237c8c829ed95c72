package cronspec

import (
	"testing"
	"time"
)

// fuzzZones are the zones FuzzParse picks from: the local zone, UTC, and
// zones with daylight saving (north and south), a half-hour zone and one
// whose DST moves the clock by 30 minutes.
var fuzzZones = []string{"", "UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "Australia/Lord_Howe"}

// FuzzParse: any spec in any of the zones either is refused with an error
// or gives a schedule whose firings move strictly forward; neither
// panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"0 3 * * *", "*/15 * * * *", "30 2 * * 0", "0 0 29 2 *", "0 0 30 2 *", "5-7 * * * 7", "1-7/2 * * * *",
		"0 0 3 * * *", "@every 15m", "@every 1s", "@hourly", "@daily", "@weekly", "@monthly", "@yearly",
		"0 3 * * mon-fri", "0 0 1,15 * *", "@every 0.5s", "TZ=UTC 0 3 * * *", "* * *", "61 * * * *",
		"0 0 L * *", "0 0 ? * *", "@every 9999999h", "0 */0 * * *", "- * * * *", "7-7 * * * 7-7/7",
	} {
		f.Add(s, uint8(2), int64(1_700_000_000))
	}
	f.Fuzz(func(t *testing.T, spec string, zone uint8, start int64) {
		s, err := Parse(spec, fuzzZones[int(zone)%len(fuzzZones)])
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		// Start anywhere within ±100 years of 2000.
		const span = 100 * 365 * 24 * 3600
		at := time.Unix(946_684_800+start%span, 0)
		for range 4 {
			next := s.Next(at)
			if next.IsZero() {
				return
			}
			if !next.After(at) {
				t.Fatalf("%q: Next(%v) = %v, not after it", spec, at, next)
			}
			at = next
		}
	})
}
