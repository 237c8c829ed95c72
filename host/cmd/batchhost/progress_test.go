package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// Lines never wrap (a wrapped line breaks the in-place redraw), and on a
// narrow terminal the state still shows: ids shrink to their tail first.
func TestLiveViewFitsTheWidth(t *testing.T) {
	jobs := []*host.Job{
		{ID: "01a222c3-716c-7ddd-9221-ceb7ec8ac6fd", Task: "chaos.progress", State: host.StateRunning, Progress: host.Progress{Fraction: 0.5, Message: "step 2/4"}, CreatedAt: time.Now()},
		{ID: "01a222c3-7172-7d79-8dd1-482e69ef5df6", Task: "chaos.fail", State: host.StateFailed, Error: &host.JobError{Kind: "permanent", Message: "boom"}},
	}
	for _, width := range []int{80, 160} {
		var buf bytes.Buffer
		v := newLiveView(&buf, jobs)
		v.width = width
		v.draw()
		v.draw()
		out := buf.String()
		if !strings.Contains(out, "\x1b[2A") {
			t.Errorf("width %d: the second draw does not move up over the first", width)
		}
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			line = strings.TrimPrefix(line, "\x1b[2A")
			line = strings.TrimPrefix(line, "\r\x1b[2K")
			if n := len([]rune(line)); n >= width {
				t.Errorf("width %d: line of %d runes: %q", width, n, line)
			}
		}
		wants := []string{"…ceb7ec8ac6fd  chaos.progress  [############............]  50%  running", "0%  failed"}
		if width == 160 {
			wants = []string{jobs[0].ID + "  chaos.progress  [", "50%  running    step 2/4", "0%  failed     permanent: boom"}
		}
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("width %d: no %q in\n%s", width, want, out)
			}
		}
	}
}
