package host

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"
)

func jobEvent(job string, i int) Event {
	return Event{Type: EventJobLog, Job: job, Log: &LogRecord{Message: fmt.Sprint(i)}}
}

func mustNext(t *testing.T, w *watcher) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := w.next(ctx)
	if err != nil {
		t.Fatalf("next: %v", err)
	}
	return ev
}

// A watcher that does not read holds nothing: once the journal has moved
// past it, it is told how many of its events it lost and goes on from the
// oldest still held. A watcher of one job counts only that job's events.
func TestWatcherThatFallsBehindIsToldItLagged(t *testing.T) {
	h := newHub(0)
	all, _ := h.watch(EventFilter{})
	one, _ := h.watch(EventFilter{Jobs: []string{"a"}})
	// 10 events of a, then a full journal of others and of a.
	for i := range 10 {
		h.publish(jobEvent("a", i))
	}
	for i := range journalSize {
		job := "b"
		if i%2 == 0 {
			job = "a"
		}
		h.publish(jobEvent(job, 10+i))
	}
	if ev := mustNext(t, all); ev.Type != EventLagged || ev.Dropped != 10 {
		t.Fatalf("watcher of all: first %+v, want lagged by 10", ev)
	}
	if ev := mustNext(t, all); ev.Log.Message != "10" {
		t.Fatalf("watcher of all after the lag: %q, want the oldest held", ev.Log.Message)
	}
	if ev := mustNext(t, one); ev.Type != EventLagged || ev.Dropped != 10 {
		t.Fatalf("watcher of a: first %+v, want lagged by 10", ev)
	}
	for i := 0; i < journalSize; i += 2 {
		if ev := mustNext(t, one); ev.Job != "a" || ev.Log.Message != fmt.Sprint(10+i) {
			t.Fatalf("watcher of a: %+v, want a's event %d", ev, 10+i)
		}
	}
	// Caught up: next waits for the next event of a, not b's.
	got := make(chan Event)
	go func() {
		ev, _ := one.next(context.Background())
		got <- ev
	}()
	h.publish(jobEvent("b", -1), jobEvent("a", -2))
	if ev := <-got; ev.Log.Message != "-2" {
		t.Fatalf("after catching up: %+v", ev)
	}
}

// Beyond the cap a watch is refused with a clear error; a stopped watcher
// frees its place; a closed hub ends watchers once they have read what
// it still holds.
func TestWatchersAreCapped(t *testing.T) {
	h := newHub(2)
	a, err1 := h.watch(EventFilter{})
	_, err2 := h.watch(EventFilter{Jobs: []string{"x"}})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	_, err := h.watch(EventFilter{})
	if !errors.Is(err, ErrTooManyWatchers) || err.Error() != "too many watchers: the host serves at most 2 at once (MaxWatchers); close some or raise the limit" {
		t.Fatalf("third watcher: %v", err)
	}
	a.stop()
	a.stop()
	if _, err := a.next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("next of a stopped watcher: %v", err)
	}
	c, err := h.watch(EventFilter{})
	if err != nil {
		t.Fatalf("a watcher after one stopped: %v", err)
	}
	h.publish(jobEvent("x", 1))
	h.close()
	if ev := mustNext(t, c); ev.Job != "x" {
		t.Fatalf("after close: %+v, want the held event first", ev)
	}
	if _, err := c.next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close and the held events: %v", err)
	}
	if _, err := h.watch(EventFilter{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("watch of a closed hub: %v", err)
	}
}

// BenchmarkPublish publishes a commit's worth of events (8 job events)
// with 0 or 2,000 idle watchers (watching everything, or one job each,
// none reading). Publishing must not grow with them, and neither must
// memory: heap-bytes/watcher is what each watcher costs, whatever was
// published.
func BenchmarkPublish(b *testing.B) {
	for _, tc := range []struct {
		name     string
		watchers int
		keyed    bool
	}{{"none", 0, false}, {"2000-all", 2000, false}, {"2000-one-job-each", 2000, true}} {
		b.Run(tc.name, func(b *testing.B) {
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			h := newHub(0)
			for i := range tc.watchers {
				f := EventFilter{}
				if tc.keyed {
					f.Jobs = []string{fmt.Sprint("w", i)}
				}
				if _, err := h.watch(f); err != nil {
					b.Fatal(err)
				}
			}
			evs := make([]Event, 8)
			for i := range evs {
				evs[i] = Event{Type: EventJobState, Job: fmt.Sprint("w", i*250), State: StateRunning}
			}
			b.ResetTimer()
			for b.Loop() {
				h.publish(evs...)
			}
			b.StopTimer()
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if tc.watchers > 0 {
				journal := int64(journalSize) * int64(unsafeSizeofEvent)
				b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse)-journal)/float64(tc.watchers), "heap-bytes/watcher")
			}
			runtime.KeepAlive(h)
		})
	}
}

var unsafeSizeofEvent = unsafe.Sizeof(Event{})

// A lagged event published to the journal (other hosts' events lost on
// the way to this one) reaches every watcher, those of given jobs or
// groups too, once, in its place among the events; a watcher of other
// types does not get it.
func TestPublishedLagReachesEveryWatcher(t *testing.T) {
	h := newHub(0)
	all, _ := h.watch(EventFilter{})
	job, _ := h.watch(EventFilter{Jobs: []string{"a"}, Groups: []string{"g"}})
	group, _ := h.watch(EventFilter{Groups: []string{"g"}})
	states, _ := h.watch(EventFilter{Types: []EventType{EventJobState}})
	h.publish(jobEvent("a", 1), Event{Type: EventLagged, Dropped: 3, Remote: true}, Event{Type: EventGroup, Group: "g"})
	if ev := mustNext(t, all); ev.Job != "a" {
		t.Fatalf("watcher of all, first: %+v", ev)
	}
	for name, w := range map[string]*watcher{"all": all, "job a or group g": job, "group g": group} {
		if name == "job a or group g" {
			if ev := mustNext(t, w); ev.Job != "a" {
				t.Fatalf("%s, first: %+v", name, ev)
			}
		}
		if ev := mustNext(t, w); ev.Type != EventLagged || ev.Dropped != 3 || !ev.Remote {
			t.Fatalf("%s: %+v, want the lag", name, ev)
		}
		if ev := mustNext(t, w); ev.Type != EventGroup {
			t.Fatalf("%s after the lag: %+v, want the group's event", name, ev)
		}
	}
	h.publish(Event{Type: EventJobState, Job: "b"})
	if ev := mustNext(t, states); ev.Type != EventJobState {
		t.Fatalf("watcher of states: %+v, want no lag", ev)
	}
}
