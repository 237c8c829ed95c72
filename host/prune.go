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
	// The first batch is pruned before Start returns, so that a host
	// reopened after a long downtime does not show expired jobs; a larger
	// backlog continues in the background.
	more := h.pruneBatch()
	go func() {
		defer close(h.pruneDone)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if more {
				h.pruneOnce(ctx)
			}
			more = true
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
	for ctx.Err() == nil && h.pruneBatch() {
	}
}

// pruneBatch prunes up to pruneBatch expired jobs and their logs, and
// reports whether more may be due.
func (h *Host) pruneBatch() bool {
	cutoff := h.cfg.Clock.Now().Add(-h.cfg.Retention)
	ids, err := h.store.Prune(context.Background(), cutoff, pruneBatch)
	if err != nil {
		h.cfg.Logger.Warn("pruning finished jobs failed", "error", err)
		return false
	}
	if err := h.logs.Remove(ids...); err != nil {
		h.cfg.Logger.Warn("removing logs of pruned jobs failed", "error", err)
	}
	return len(ids) == pruneBatch
}
