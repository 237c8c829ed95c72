package host_test

import (
	"context"
	"errors"
	"testing"

	"github.com/batchhost/batchhost/host"
)

// A watcher that reads nothing while a job floods events holds nothing:
// when it reads, it is told how many events it lost, then goes on to the
// job's end.
func TestSlowWatcherIsToldItLagged(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	w, err := h.Watch(ctx, host.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// 20,000 progress and log events, more than the journal holds.
	id := submit(t, h, host.JobSpec{Task: "chaos.progress", Args: map[string]int{"steps": 10000, "ms": 0}})
	wait(t, h, id)
	ev, err := w.Next(ctx)
	if err != nil || ev.Type != host.EventLagged || ev.Dropped <= 0 {
		t.Fatalf("first event of a watcher that fell behind: %+v, %v; want lagged", ev, err)
	}
	for {
		ev, err := w.Next(ctx)
		if err != nil {
			t.Fatalf("reading on after the lag: %v", err)
		}
		if ev.Type == host.EventJobState && ev.Job == id && ev.State == host.StateCompleted {
			break
		}
	}
}

// MaxWatchers bounds the open watchers: one more is refused with a clear
// error (Subscribe's channel is closed at once), and closing one makes
// room.
func TestMaxWatchers(t *testing.T) {
	h, _ := openHost(t, func(c *host.Config) { c.MaxWatchers = 2 })
	ctx := ctxT(t)
	a, err := h.Watch(ctx, host.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	sub := h.Subscribe(ctx, host.EventFilter{Jobs: []string{"x"}})
	if _, err := h.Watch(ctx, host.EventFilter{}); !errors.Is(err, host.ErrTooManyWatchers) {
		t.Fatalf("a third watcher: %v, want ErrTooManyWatchers", err)
	}
	if _, open := <-h.Subscribe(ctx, host.EventFilter{}); open {
		t.Fatal("a refused Subscribe delivered an event")
	}
	a.Close()
	b, err := h.Watch(ctx, host.EventFilter{})
	if err != nil {
		t.Fatalf("a watcher after one closed: %v", err)
	}
	b.Close()
	// A watcher ends with its ctx.
	wctx, cancel := context.WithCancel(ctx)
	c, err := h.Watch(wctx, host.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := c.Next(ctx); !errors.Is(err, host.ErrClosed) {
		t.Fatalf("Next after the watcher's ctx ended: %v", err)
	}
	_ = sub
}
