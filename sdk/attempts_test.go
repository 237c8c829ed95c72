package sdk_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
	"github.com/batchhost/batchhost/sdk"
	"github.com/batchhost/batchhost/sdk/internal/testhook"
)

// hostEnd is the host's side of an in-process attempt channel and its
// lifeline.
type hostEnd struct {
	conn     *pluginrpc.Conn
	lifeline *os.File
	seq      uint64
}

// serveAttempts serves p on an in-process attempt channel and lifeline.
func serveAttempts(t *testing.T, p sdk.Plugin) *hostEnd {
	t.Helper()
	srv, err := testhook.NewServer(p, testhook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	host, plugin, err := pluginrpc.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = srv.ServeAttempts(plugin, r); close(done) }()
	t.Cleanup(func() { host.Close(); w.Close(); <-done; r.Close() })
	return &hostEnd{conn: host, lifeline: w}
}

// start sends the next attempt's start frame and returns its seq.
func (h *hostEnd) start(t *testing.T, req *pluginpb.ExecuteRequest) uint64 {
	t.Helper()
	h.seq++
	if err := h.conn.Write(pluginrpc.StartFrame(h.seq, req)); err != nil {
		t.Fatal(err)
	}
	return h.seq
}

func (h *hostEnd) cancel(t *testing.T, seq uint64) {
	t.Helper()
	if err := pluginrpc.WriteCancel(h.lifeline, seq); err != nil {
		t.Fatal(err)
	}
}

// attemptEvents starts an attempt and reads up to its result.
func attemptEvents(t *testing.T, h *hostEnd, req *pluginpb.ExecuteRequest) []*pluginpb.ExecuteEvent {
	t.Helper()
	h.start(t, req)
	var out []*pluginpb.ExecuteEvent
	for {
		ev := &pluginpb.ExecuteEvent{}
		if err := h.conn.Read(ev); err != nil {
			t.Fatalf("after %v: %v", out, err)
		}
		out = append(out, ev)
		if ev.GetResult() != nil {
			return out
		}
	}
}

// TestStrayEventsDoNotReachTheNextAttempt: a goroutine a task leaves
// behind reports after its attempt's result; none of that may arrive on
// the channel, where it would read as the next attempt's events.
func TestStrayEventsDoNotReachTheNextAttempt(t *testing.T) {
	release, stray := make(chan struct{}), make(chan struct{})
	p := sdk.Plugin{Name: "test", Version: "1", Tasks: []sdk.Task{
		sdk.NewTask("leak", "leaves a goroutine", func(_ context.Context, job *sdk.Job, _ struct{}) (struct{}, error) {
			go func() {
				defer close(stray)
				<-release
				for range 100 {
					job.Progress(0.5, "late")
					job.Log().Info("late")
				}
			}()
			return struct{}{}, nil
		}),
		sdk.NewTask("noop", "nothing", func(context.Context, *sdk.Job, struct{}) (struct{}, error) { return struct{}{}, nil }),
	}}
	c := serveAttempts(t, p)
	if evs := attemptEvents(t, c, &pluginpb.ExecuteRequest{Task: "leak"}); len(evs) != 1 {
		t.Fatalf("leak: %v", evs)
	}
	close(release)
	<-stray
	if evs := attemptEvents(t, c, &pluginpb.ExecuteRequest{Task: "noop"}); len(evs) != 1 {
		t.Fatalf("the next attempt's events: %v", evs)
	}
}

// TestCancelReachesOnlyItsAttempt: a cancel cancels its attempt's running
// task; a late one (the attempt is over) does not touch the next attempt;
// one that overtakes its start frame makes the attempt start cancelled.
func TestCancelReachesOnlyItsAttempt(t *testing.T) {
	started := make(chan struct{}, 1)
	p := sdk.Plugin{Name: "test", Version: "1", Tasks: []sdk.Task{
		sdk.NewTask("block", "blocks until cancelled", func(ctx context.Context, _ *sdk.Job, _ struct{}) (struct{}, error) {
			started <- struct{}{}
			<-ctx.Done()
			return struct{}{}, context.Cause(ctx)
		}),
		sdk.NewTask("sleep", "sleeps 50 ms unless cancelled", func(ctx context.Context, _ *sdk.Job, _ struct{}) (struct{}, error) {
			select {
			case <-ctx.Done():
				return struct{}{}, ctx.Err()
			case <-time.After(50 * time.Millisecond):
				return struct{}{}, nil
			}
		}),
	}}
	h := serveAttempts(t, p)
	seq := h.start(t, &pluginpb.ExecuteRequest{Task: "block"})
	<-started
	h.cancel(t, seq)
	ev := &pluginpb.ExecuteEvent{}
	if err := h.conn.Read(ev); err != nil || !strings.Contains(ev.GetResult().GetError().GetMessage(), "canceled") {
		t.Fatalf("cancelled attempt: %v %v", ev, err)
	}
	// A late cancel, as when the host's timeout fires as the result
	// arrives: the next attempt must not see it.
	h.cancel(t, seq)
	if evs := attemptEvents(t, h, &pluginpb.ExecuteRequest{Task: "sleep"}); evs[0].GetResult().GetError() != nil {
		t.Fatalf("the attempt after a late cancel: %v", evs)
	}
	// A cancel ahead of its start frame.
	h.cancel(t, h.seq+1)
	if evs := attemptEvents(t, h, &pluginpb.ExecuteRequest{Task: "sleep"}); evs[0].GetResult().GetError() == nil {
		t.Fatalf("an attempt cancelled before its start ran to its end: %v", evs)
	}
}
