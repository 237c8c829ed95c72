package control_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/batchhost/batchhost/host"
)

// Watch delivers a job's state changes and progress in the order they
// happened, from the moment it returns.
func TestWatchStreamsStateAndProgress(t *testing.T) {
	f := serve(t, nil)
	ctx := ctxT(t)
	w, err := f.c.Watch(ctx, host.EventFilter{Types: []host.EventType{host.EventJobState, host.EventJobProgress}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	id, err := f.c.Submit(ctx, host.JobSpec{Task: "chaos.progress", Args: map[string]int{"steps": 3, "ms": 1}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		e, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if e.Job != id {
			t.Fatalf("event of another job: %+v", e)
		}
		switch e.Type {
		case host.EventJobState:
			got = append(got, string(e.State))
		case host.EventJobProgress:
			got = append(got, fmt.Sprintf("%.2f", e.Progress.Fraction))
		}
		if e.State == host.StateCompleted {
			break
		}
	}
	want := "queued running 0.33 0.67 1.00 completed"
	if s := fmt.Sprint(got); s != "["+want+"]" {
		t.Fatalf("events %v, want [%s]", got, want)
	}
}

// Following the logs of a running job yields every record exactly once
// and in order, then ends by itself when the job ends.
func TestFollowLogs(t *testing.T) {
	f := serve(t, nil)
	ctx := ctxT(t)
	const steps = 40
	id, err := f.c.Submit(ctx, host.JobSpec{Task: "chaos.progress", Args: map[string]int{"steps": steps, "ms": 20}})
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, f.c, id, host.StateRunning)
	var lines []int
	err = f.c.FollowLogs(ctx, id, func(r host.LogRecord) error {
		var fields struct{ I int }
		if err := json.Unmarshal(r.Fields, &fields); err != nil {
			return err
		}
		lines = append(lines, fields.I)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != steps {
		t.Fatalf("followed %d records, want %d: %v", len(lines), steps, lines)
	}
	seen := map[int]bool{}
	for _, i := range lines {
		if seen[i] {
			t.Fatalf("record %d twice: %v", i, lines)
		}
		seen[i] = true
	}
	j, _ := f.c.Get(ctx, id)
	if j.State != host.StateCompleted {
		t.Fatalf("FollowLogs returned with the job %s", j.State)
	}
	stored, err := f.c.Logs(ctx, id)
	if err != nil || len(stored) != steps || stored[0].Message != "step" || stored[0].Attempt != 1 {
		t.Fatalf("Logs = %d records %+v, %v", len(stored), stored, err)
	}
	// Following a finished job returns its records and ends.
	n := 0
	if err := f.c.FollowLogs(ctx, id, func(host.LogRecord) error { n++; return nil }); err != nil || n != steps {
		t.Fatalf("follow of a finished job: %d records, %v", n, err)
	}
}
