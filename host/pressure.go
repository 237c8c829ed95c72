package host

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pressureFile is where Linux reports memory pressure (PSI).
const pressureFile = "/proc/pressure/memory"

// memoryPressure reads the share of time tasks stalled on memory over
// the last 10 seconds ("some avg10", percent) from a PSI file, at most
// once per half second: claims ask on every round.
type memoryPressure struct {
	path  string
	limit float64
	now   func() time.Time

	mu     sync.Mutex
	at     time.Time
	over   bool
	failed bool
}

// overLimit reports whether the last reading is at or above the limit.
// A file that cannot be read counts as no pressure.
func (m *memoryPressure) overLimit() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if !m.at.IsZero() && now.Sub(m.at) < 500*time.Millisecond {
		return m.over
	}
	m.at = now
	v, err := readPressure(m.path)
	m.failed = err != nil
	m.over = err == nil && v >= m.limit
	return m.over
}

// readPressure is the "some avg10" of a PSI file.
func readPressure(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return parsePressure(string(b))
}

// parsePressure reads "some avg10=1.25 avg60=... total=..." (the first
// line of a PSI file).
func parsePressure(s string) (float64, error) {
	for line := range strings.SplitSeq(s, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "some" {
			continue
		}
		for _, f := range fields[1:] {
			if v, ok := strings.CutPrefix(f, "avg10="); ok {
				return strconv.ParseFloat(v, 64)
			}
		}
	}
	return 0, fmt.Errorf("no \"some avg10=\" in %q", s)
}
