package host

import (
	"context"
	"time"
)

// pruneBatch bounds one prune transaction, so that pruning a large backlog
// never holds the writer for long.
const pruneBatch = 1000

// startPruner deletes finished jobs older than the retention period in the
// background: at start, then every tenth of the retention (at most hourly).
func (h *Host) startPruner() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pruneCancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.pruneCancel = cancel
	h.pruneDone = make(chan struct{})
	every := min(h.cfg.Retention/10, time.Hour)
	go func() {
		defer close(h.pruneDone)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			h.pruneOnce(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (h *Host) stopPruner() {
	h.mu.Lock()
	cancel, done := h.pruneCancel, h.pruneDone
	h.pruneCancel = nil
	h.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// pruneOnce removes everything due, a batch at a time.
func (h *Host) pruneOnce(ctx context.Context) {
	cutoff := h.cfg.Clock.Now().Add(-h.cfg.Retention)
	for ctx.Err() == nil {
		ids, err := h.store.Prune(cutoff, pruneBatch)
		if err != nil {
			h.cfg.Logger.Warn("pruning finished jobs failed", "error", err)
			return
		}
		if err := h.logs.Remove(ids...); err != nil {
			h.cfg.Logger.Warn("removing logs of pruned jobs failed", "error", err)
		}
		if len(ids) < pruneBatch {
			return
		}
	}
}
