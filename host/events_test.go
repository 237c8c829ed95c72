package host_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host"
	"github.com/google/go-cmp/cmp"
)

func TestLogsAndProgressReachTheHostInOrder(t *testing.T) {
	h, _ := openHost(t, nil)
	rec := record(t, h, host.EventFilter{})
	id := submit(t, h, host.JobSpec{Task: "chaos.progress", Args: map[string]int{"steps": 5, "ms": 5}})
	evs := rec.until(t, stateEvent(id, host.StateCompleted))
	var fr []float64
	for _, e := range evs {
		if e.Type == host.EventJobProgress && e.Job == id {
			fr = append(fr, e.Progress.Fraction)
		}
	}
	if diff := cmp.Diff([]float64{0.2, 0.4, 0.6, 0.8, 1}, fr); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	logs, err := h.Logs(ctxT(t), id)
	if err != nil || len(logs) != 5 {
		t.Fatalf("logs %v %v", logs, err)
	}
	for i, l := range logs {
		if !strings.Contains(string(l.Fields), fmt.Sprintf(`"i":%d`, i+1)) || l.Attempt != 1 {
			t.Errorf("log %d: %+v", i, l)
		}
	}
}

// Events of one job arrive in the order they happened: log records do not
// overtake progress and state changes.
func TestJobEventsKeepTheirOrder(t *testing.T) {
	h, _ := openHost(t, nil)
	rec := record(t, h, host.EventFilter{})
	id := submit(t, h, host.JobSpec{Task: "chaos.progress", Args: map[string]int{"steps": 20, "ms": 1}})
	evs := rec.until(t, stateEvent(id, host.StateCompleted))
	var seq []string
	for _, e := range evs {
		if e.Job != id {
			continue
		}
		switch e.Type {
		case host.EventJobProgress:
			seq = append(seq, "P")
		case host.EventJobLog:
			seq = append(seq, "L")
		case host.EventJobState:
			seq = append(seq, string(e.State))
		}
	}
	want := "queued running" + strings.Repeat(" P L", 20) + " completed"
	if got := strings.Join(seq, " "); got != want {
		t.Fatalf("events of one job out of order:\n got %s\nwant %s", got, want)
	}
}
