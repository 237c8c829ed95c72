package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/batchhost/batchhost/host"
)

// liveView draws one line per job on a terminal and redraws them in place
// as events arrive: a progress bar, the percentage, the state and the
// task's last progress message.
type liveView struct {
	w     io.Writer
	width int
	jobs  []*host.Job
	index map[string]int
	done  []bool
	drawn int // lines on screen from the previous draw
	dirty bool
}

func newLiveView(w io.Writer, jobs []*host.Job) *liveView {
	v := &liveView{w: w, width: termWidth(w), jobs: jobs, index: map[string]int{}, done: make([]bool, len(jobs))}
	for i, j := range jobs {
		v.index[j.ID] = i
		v.done[i] = j.Done()
	}
	return v
}

// termWidth is the terminal's width, 80 if it cannot be read.
func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
			return int(ws.Col)
		}
	}
	return 80
}

// apply updates a job from an event. A finished job keeps the state Wait
// reported: late events must not move it back.
func (v *liveView) apply(e host.Event) {
	i, ok := v.index[e.Job]
	if !ok || v.done[i] {
		return
	}
	j := *v.jobs[i]
	switch e.Type {
	case host.EventJobState:
		j.State = e.State
		if e.Attempt > 0 {
			j.Attempt = e.Attempt
		}
		if e.State == host.StateQueued {
			j.Progress = host.Progress{} // a retry starts over
		}
	case host.EventJobProgress:
		if e.Progress != nil {
			j.Progress = *e.Progress
		}
	default:
		return
	}
	v.jobs[i] = &j
	v.dirty = true
}

// finish records a job's final snapshot.
func (v *liveView) finish(i int, j *host.Job) {
	v.jobs[i] = j
	v.done[i] = true
	v.dirty = true
}

// draw rewrites the view in place: cursor up over the previous lines,
// then each line cleared and written again.
func (v *liveView) draw() {
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", v.drawn)
	}
	idw, taskw := 0, 0
	for _, j := range v.jobs {
		idw = max(idw, len(j.ID))
		taskw = max(taskw, len(j.Task))
	}
	// A narrow terminal shows ids by their random tail, so that the bar,
	// the percentage and the state still fit on the line.
	shortIDs := v.width-1 < idw+taskw+barWidth+fixedCols
	if shortIDs {
		idw = min(idw, shortIDLen+1)
	}
	for _, j := range v.jobs {
		b.WriteString("\r\x1b[2K")
		b.WriteString(truncate(jobLine(j, idw, taskw, shortIDs), v.width-1))
		b.WriteString("\n")
	}
	io.WriteString(v.w, b.String())
	v.drawn = len(v.jobs)
	v.dirty = false
}

const (
	// barWidth is the number of cells of a progress bar.
	barWidth = 24
	// fixedCols is the width of a line without its id, task and bar cells:
	// separators, brackets, percentage and state.
	fixedCols = 2 + 2 + 2 + 1 + 4 + 2 + 9
	// shortIDLen is how much of an id a narrow view shows: the random
	// tail of a UUIDv7, which tells jobs submitted together apart.
	shortIDLen = 12
)

// jobLine is one job's line: id, task, bar, percentage, state, message.
func jobLine(j *host.Job, idw, taskw int, shortID bool) string {
	shown := j.ID
	if shortID && len(shown) > shortIDLen {
		shown = "…" + shown[len(shown)-shortIDLen:]
	}
	frac := j.Progress.Fraction
	if j.State == host.StateCompleted {
		frac = 1
	}
	frac = min(max(frac, 0), 1)
	filled := int(frac*barWidth + 0.5)
	bar := "[" + strings.Repeat("#", filled) + strings.Repeat(".", barWidth-filled) + "]"
	detail := j.Progress.Message
	if j.Error != nil && j.Done() {
		detail = errLine(j.Error)
	} else if j.Attempt > 1 && !j.Done() {
		detail = strings.TrimSpace(fmt.Sprintf("attempt %d %s", j.Attempt, detail))
	}
	return strings.TrimRight(fmt.Sprintf("%s  %-*s  %s %4s  %-9s  %s", padRunes(shown, idw), taskw, j.Task, bar, percent(frac), j.State, detail), " ")
}

// padRunes pads s with spaces to n runes ("…" is one rune, three bytes).
func padRunes(s string, n int) string {
	if k := len([]rune(s)); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

// truncate cuts s to n runes so a line never wraps: a wrapped line would
// break the cursor arithmetic of the redraw.
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n == 1 {
		return "…"
	}
	return string(r[:n-1]) + "…"
}
