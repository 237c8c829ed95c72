package host

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host/internal/backend/postgres"
)

// Events are packed into payloads NOTIFY takes, in order, the count of
// lost events in the first; long texts are cut to fit, and an event that
// cannot fit even so is counted as unsent rather than sent broken.
func TestEventPayloadsFitAndKeepOrder(t *testing.T) {
	var evs []Event
	for i := range 500 {
		evs = append(evs, Event{Type: EventJobLog, Job: fmt.Sprintf("job-%d", i), Log: &LogRecord{Message: fmt.Sprint(i)}})
	}
	evs[10].Log.Message = strings.Repeat("é", 50_000)
	evs[20] = Event{Type: EventJobState, Job: "job-20", State: StateFailed, Error: &JobError{Message: "m", Stderr: strings.Repeat("x", 100_000)}}
	evs[30].Task = strings.Repeat("t", postgres.MaxEventPayload) // nothing of an event's own to cut
	payloads, unsent := encodePayloads("origin-1", evs, 7)
	if unsent != 1 || len(payloads) < 2 {
		t.Fatalf("%d payloads, %d unsent; want several and 1", len(payloads), unsent)
	}
	var got []Event
	for i, p := range payloads {
		if len(p) > postgres.MaxEventPayload {
			t.Fatalf("payload %d is %d bytes", i, len(p))
		}
		var pl payload
		if err := json.Unmarshal([]byte(p), &pl); err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
		if want := map[bool]int{true: 7, false: 0}[i == 0]; pl.Origin != "origin-1" || pl.Dropped != want {
			t.Fatalf("payload %d from %q with %d dropped, want origin-1 and %d", i, pl.Origin, pl.Dropped, want)
		}
		got = append(got, pl.Events...)
	}
	if len(got) != 499 {
		t.Fatalf("%d events decoded, want 499", len(got))
	}
	for i, e := range got {
		want := i
		if i >= 30 {
			want++ // the one unsent
		}
		if e.Job != fmt.Sprintf("job-%d", want) {
			t.Fatalf("event %d is of %s: out of order", i, e.Job)
		}
	}
	if m := got[10].Log.Message; len(m) > cutLen+len("…") || !strings.HasSuffix(m, "é…") {
		t.Errorf("a long log message was sent as %d bytes ending %q", len(m), m[len(m)-8:])
	}
	if e := got[20].Error; e.Message != "m" || len(e.Stderr) > cutLen+len("…") {
		t.Errorf("a long stderr was sent as %d bytes", len(e.Stderr))
	}
	if p, _ := encodePayloads("o", nil, 3); len(p) != 1 || !strings.Contains(p[0], `"d":3`) {
		t.Errorf("only lost events: %q", p)
	}
	if p, _ := encodePayloads("o", nil, 0); len(p) != 0 {
		t.Errorf("nothing to send: %q", p)
	}
}
