package control_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host"
)

// Watches beyond the host's MaxWatchers are refused over the control API
// with the host's sentinel and a message that says the limit; a followed
// log counts as a watch, a plain read of the log does not.
func TestWatchBeyondTheLimitIsRefused(t *testing.T) {
	f := serve(t, func(c *host.Config) { c.MaxWatchers = 1 })
	ctx := ctxT(t)
	w, err := f.c.Watch(ctx, host.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, err = f.c.Watch(ctx, host.EventFilter{})
	if !errors.Is(err, host.ErrTooManyWatchers) || !strings.Contains(err.Error(), "at most 1") {
		t.Fatalf("a second watch: %v", err)
	}
	id, err := f.c.Submit(ctx, host.JobSpec{Task: "chaos.noop"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.c.FollowLogs(ctx, id, func(host.LogRecord) error { return nil }); !errors.Is(err, host.ErrTooManyWatchers) {
		t.Fatalf("a followed log beyond the limit: %v", err)
	}
	if _, err := f.c.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := f.c.EachLog(ctx, id, func(host.LogRecord) error { return nil }); err != nil {
		t.Fatalf("a plain log read: %v", err)
	}
}
