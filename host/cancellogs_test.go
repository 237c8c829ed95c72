package host_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/host"
)

// TestLogsWrittenAfterCancelAreKept: the records a task writes between its
// cancel and its return (its clean-up) are in the job's log, after the
// ones it wrote before.
func TestLogsWrittenAfterCancelAreKept(t *testing.T) {
	h, _ := openHost(t, nil)
	rec := record(t, h, host.EventFilter{})
	id := submit(t, h, host.JobSpec{Task: "chaos.linger", Args: map[string]int{"lines": 3}})
	rec.until(t, func(e host.Event) bool {
		return e.Type == host.EventJobLog && e.Job == id && e.Log.Message == "waiting for the cancel"
	})
	if err := h.Cancel(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	if j := wait(t, h, id); j.State != host.StateCanceled {
		t.Fatalf("job %s %+v, want canceled", j.State, j.Error)
	}
	logs, err := h.Logs(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range logs {
		got = append(got, l.Message+string(l.Fields))
	}
	want := []string{"waiting for the cancel{}", `cleanup{"i":1}`, `cleanup{"i":2}`, `cleanup{"i":3}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("job log (-want +got):\n%s", diff)
	}
}
