package store

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
)

// A commit that fails because the disk is full does not fail the store.
// bbolt writes a transaction's pages to pages the committed tree does not
// use (copy on write), then the meta page that makes them the tree; a
// commit that fails before the meta page is written changes nothing the
// file's committed state refers to, and bbolt (since 1.4) rolls its free
// page list back to the committed one, so the same handle may commit
// again. Reopening the file would read the same state from the same page
// cache: it adds nothing. So after such a failure the queue undoes what
// it decided for the transaction (the ready index, the record cache, the
// claims decided meanwhile), answers its operations with ErrNoSpace, and
// takes the next operations as usual: each tries its own commit, and the
// first one to fit is durable as ever.
//
// A failure after the meta page was written (its fsync failed) leaves the
// file's state unknown: what the page cache holds may never reach the
// disk, and a retried fsync may report success for pages the kernel
// dropped. That one still fails the store, until the host is reopened.

// noSpace reports whether a commit error is the disk's being full or the
// user's quota spent. bbolt formats some of its errors with %s, so the
// text is looked at as well.
func noSpace(err error) bool {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, syscall.ENOSPC.Error()) || strings.Contains(msg, syscall.EDQUOT.Error())
}

// commitFailed is the error the operations of the failed flight f get:
// ErrNoSpace when nothing of it reached the file's committed state and
// the disk is full; else the store fails.
func (q *Queue) commitFailed(f *flight, cause error) error {
	if !noSpace(cause) || q.metaMoved(f.txid) {
		return q.fail(cause)
	}
	if q.fullSince.IsZero() {
		q.fullSince = time.Now()
		q.s.log.Error("no space left for the data file: writes are refused until space is freed; reads answer", "path", q.s.path, "error", cause)
	}
	return newError(backend.ErrNoSpace, cause, fmt.Sprintf(
		"no space left on device for data file %s: the change was not made; free space and retry", q.s.path))
}

// metaMoved reports whether the file's committed transaction is txid or
// later: the failed commit of txid wrote its meta page.
func (q *Queue) metaMoved(txid int) bool {
	moved := true
	_ = guard(q.s.path, func() error {
		tx, err := q.s.db.Begin(false)
		if err != nil {
			return err
		}
		moved = tx.ID() >= txid
		return tx.Rollback()
	})
	return moved
}

// spaceBack notes a durable commit: an episode of a full disk, if any, is
// over.
func (q *Queue) spaceBack() {
	if !q.fullSince.IsZero() {
		q.s.log.Info("the data file takes writes again", "path", q.s.path, "full_for", time.Since(q.fullSince).Round(time.Millisecond))
		q.fullSince = time.Time{}
	}
}

// forget drops from the record cache what an undone transaction decided:
// the next read of those jobs goes to the file.
func (c *recordCache) forget(w *wtx) {
	for _, e := range w.order {
		delete(c.m, e.j.ID)
	}
}

// unpop puts back into the ready index the entries claims took in a
// transaction that was undone (stale ones are dropped again when met).
func (q *Queue) unpop(es []readyEntry, now time.Time) {
	if len(es) == 0 {
		return
	}
	x := &q.idx
	x.mu.Lock()
	for _, e := range es {
		x.push(e, now.UnixNano())
	}
	x.mu.Unlock()
}
