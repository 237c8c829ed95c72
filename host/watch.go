package host

import (
	"context"
	"sync"
)

// Watcher reads the events matching its filter, in order, at its own
// pace: the host keeps recent events in one journal that all watchers
// share, so a watcher that reads slowly (or not at all) costs no memory of
// its own. One that falls further behind than the journal holds is told
// how many events it lost by an EventLagged, and goes on from the oldest
// event still held.
//
// A Watcher is for one goroutine at a time.
type Watcher struct {
	w    *watcher
	stop func() bool
	once sync.Once
}

// Watch opens a watcher of the events matching f from now on: no later
// event is missed. It ends when ctx ends or Close is called. Beyond
// MaxWatchers open at once it fails with ErrTooManyWatchers; on a closed
// host with ErrClosed.
func (h *Host) Watch(ctx context.Context, f EventFilter) (*Watcher, error) {
	w, err := h.hub.watch(f)
	if err != nil {
		return nil, err
	}
	return &Watcher{w: w, stop: context.AfterFunc(ctx, w.stop)}, nil
}

// Next returns the next event, waiting for one. It fails with ErrClosed
// once the watcher is closed or the host closed (after the events still
// held for it), or with ctx's error.
func (w *Watcher) Next(ctx context.Context) (Event, error) {
	return w.w.next(ctx)
}

// Close ends the watcher and releases its place.
func (w *Watcher) Close() {
	w.once.Do(func() {
		w.stop()
		w.w.stop()
	})
}

// Subscribe delivers events matching f until ctx ends or the host closes;
// then the channel is closed. Like a Watcher it holds no events of its
// own: one that falls far behind loses events and is told so by an
// EventLagged event. Beyond MaxWatchers subscriptions the channel is
// closed at once; Watch says why.
func (h *Host) Subscribe(ctx context.Context, f EventFilter) <-chan Event {
	out := make(chan Event)
	w, err := h.Watch(ctx, f)
	if err != nil {
		h.cfg.Logger.Warn("subscription refused", "error", err)
		close(out)
		return out
	}
	go func() {
		defer close(out)
		defer w.Close()
		for {
			ev, err := w.Next(ctx)
			if err != nil {
				return
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
