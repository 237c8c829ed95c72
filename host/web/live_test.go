package web

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// A page's pending updates stay within fixed bounds however many events
// arrive between two flushes; what was dropped is reported, not held.
func TestClientPendingIsBounded(t *testing.T) {
	job := newClient(topicJob, "j1")
	now := time.Now()
	for i := range 10000 {
		job.offer(&host.Event{Type: host.EventJobLog, Job: "j1", Time: now, Log: &host.LogRecord{Time: now, Level: "info", Message: fmt.Sprint("line ", i)}})
		job.offer(&host.Event{Type: host.EventJobProgress, Job: "j1", Progress: &host.Progress{Fraction: float64(i) / 10000}})
		job.offer(&host.Event{Type: host.EventJobLog, Job: "other", Log: &host.LogRecord{}})
	}
	if jobs, logs := job.pendingSize(); jobs > 1 || logs > maxPendingLogs {
		t.Fatalf("job page holds %d progress and %d logs", jobs, logs)
	}
	m := job.take()
	if len(m.Logs) != maxPendingLogs || m.LogsLost != 10000-maxPendingLogs || m.Logs[len(m.Logs)-1].Message != "line 9999" {
		t.Errorf("flush: %d logs (last %q), %d lost", len(m.Logs), m.Logs[len(m.Logs)-1].Message, m.LogsLost)
	}
	if len(m.Progress) != 1 || m.Progress[0].Fraction != 0.9999 {
		t.Errorf("progress %+v, want the latest only", m.Progress)
	}
	if m2 := job.take(); !m2.empty() {
		t.Errorf("second take not empty: %+v", m2)
	}

	list := newClient(topicJobs, "")
	for i := range 10000 {
		list.offer(&host.Event{Type: host.EventJobState, Job: fmt.Sprint("j", i), State: host.StateQueued, PrevState: host.StateCreated})
	}
	if jobs, _ := list.pendingSize(); jobs > maxPendingJobs {
		t.Fatalf("job list holds %d pending states", jobs)
	}
	m = list.take()
	if !m.Resync || m.Submitted != 10000 || len(m.States) > maxPendingJobs {
		t.Errorf("overflowing list: resync %v, submitted %d, %d states", m.Resync, m.Submitted, len(m.States))
	}
	lagged := newClient(topicOverview, "")
	lagged.offer(&host.Event{Type: host.EventLagged, Dropped: 5})
	if m := lagged.take(); !m.Resync {
		t.Error("a lagged host stream does not make pages resync")
	}
}

// A live page over real HTTP: a job page's stream carries the job's
// state, progress and log records; a client that stops reading costs the
// server bounded memory, and its departure frees its slot.
func TestEventStream(t *testing.T) {
	f := serve(t, Options{}, nil)
	if err := f.h.PauseDispatch(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	id := submit(t, f.h, host.JobSpec{Task: "chaos.progress", Args: map[string]int{"steps": 5, "ms": 10}})
	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodGet, f.ts.URL+"/events?topic=job&job="+id, nil)
	resp, err := f.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, ct)
	}
	waitClients(t, f.srv, 1)
	if err := f.h.ResumeDispatch(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	var states []host.State
	logs, progress := 0, 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && !(len(states) > 0 && states[len(states)-1] == host.StateCompleted) {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var m liveMsg
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatal(err)
		}
		for _, s := range m.States {
			states = append(states, s.State)
		}
		for _, p := range m.Progress {
			progress = max(progress, p.Fraction)
		}
		logs += len(m.Logs)
	}
	resp.Body.Close()
	if len(states) == 0 || states[len(states)-1] != host.StateCompleted || logs != 5 || progress < 0.8 {
		t.Errorf("stream showed states %v, %d log records, progress %v", states, logs, progress)
	}
	waitClients(t, f.srv, 0)

	// A page that does not read while its job logs 20,000 records: what
	// the server holds for it stays within the bounds.
	noisy := submit(t, f.h, host.JobSpec{Task: "chaos.log", Args: map[string]int{"lines": 20000}})
	req, _ = http.NewRequestWithContext(ctxT(t), http.MethodGet, f.ts.URL+"/events?topic=job&job="+noisy, nil)
	resp, err = f.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	waitClients(t, f.srv, 1)
	wait(t, f.h, noisy)
	for c := range clients(f.srv) {
		if jobs, logs := c.pendingSize(); jobs > maxPendingJobs || logs > maxPendingLogs {
			t.Errorf("a stalled page holds %d jobs and %d logs", jobs, logs)
		}
	}
	resp.Body.Close()
	waitClients(t, f.srv, 0)
}

func clients(s *Server) map[*client]struct{} {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	out := map[*client]struct{}{}
	for c := range s.hub.clients {
		out[c] = struct{}{}
	}
	return out
}

// waitClients waits until n pages are connected: a stream registers when
// its request is handled and leaves when its client goes.
func waitClients(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for s.hub.count() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d live pages, want %d", s.hub.count(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Close ends open streams, so an http.Server can shut down.
func TestCloseEndsStreams(t *testing.T) {
	f := serve(t, Options{}, nil)
	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodGet, f.ts.URL+"/events?topic=overview", nil)
	resp, err := f.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	waitClients(t, f.srv, 1)
	f.srv.Close()
	done := make(chan struct{})
	go func() {
		bufio.NewReader(resp.Body).WriteTo(discard{})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("stream still open after Close")
	}
	if r, _ := f.get(t, "/events?topic=overview"); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("new stream after Close: %d", r.StatusCode)
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
