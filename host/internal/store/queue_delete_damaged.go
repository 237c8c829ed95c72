package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/batchhost/batchhost/host/internal/model"
)

// deleted forgets damaged records a commit deleted, each with the state
// and priority its live entry gave it, if any: the commit took those out
// of the stored counts. One that was finished stays in adj, as it stays
// in the stored counts (its state is not known, so neither is changed).
func (d *damagedJobs) deleted(gone []damagedDrop) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.scanned {
		return // the scan, when it runs, finds the file as it is now
	}
	for _, g := range gone {
		if !d.ids[g.id] {
			continue
		}
		delete(d.ids, g.id)
		if g.counted {
			d.adj.add(g.state, g.priority, -1)
		}
	}
}

// damagedDrop is one damaged record a Delete removed: counted says that
// its live entry gave the state and priority the counts had it in.
type damagedDrop struct {
	id       string
	counted  bool
	state    model.State
	priority model.Priority
}

// damagedRecord reports whether job id's stored record fails its
// checksum or does not decode, as this transaction sees it (a record
// the transaction wrote is sound).
func (w *wtx) damagedRecord(id string) bool {
	if w.jobs[id] != nil {
		return false
	}
	data := w.bk.jobs.Get([]byte(id))
	if data == nil {
		return false
	}
	_, err := w.q.s.decodeHead([]byte(id), data)
	return err != nil
}

// dropDamaged deletes job id, whose record is damaged, whatever state it
// was in, and every index entry that names it. The record cannot say its
// key, dependencies or finish time, so the indexes that hold them are
// searched for the id: a scan of the keys, edges and finished indexes,
// bounded by their size, for an operator's rare repair. A live entry
// gives the state and priority the counts had it in, which the counts
// lose; a finished record's are not known and the counts keep it (see
// damagedJobs.deleted). It reports the group the job was a member of.
func (w *wtx) dropDamaged(id string) (string, damagedDrop, error) {
	w.writes++
	key := []byte(id)
	out := damagedDrop{id: id}
	h := &jobHead{}
	if v := w.bk.live.Get(key); v != nil {
		if lr, err := decodeLive(v); err == nil {
			out.counted, out.state, out.priority = true, lr.state, lr.priority
		}
		if err := w.bk.live.Delete(key); err != nil {
			return "", out, fmt.Errorf("unindex job %s: %w", id, err)
		}
	}
	if err := w.bk.jobs.Delete(key); err != nil {
		return "", out, fmt.Errorf("delete job %s: %w", id, err)
	}
	if err := deleteWhere(w.bk.finished, func(k, _ []byte) bool { _, kid := splitFinishedKey(k); return kid == id }); err != nil {
		return "", out, fmt.Errorf("unindex job %s: %w", id, err)
	}
	if err := deleteWhere(w.bk.keys, func(_, v []byte) bool { return bytes.Equal(v, key) }); err != nil {
		return "", out, fmt.Errorf("delete key of job %s: %w", id, err)
	}
	// Edges to it, from its dependencies: dropRefs takes those from it.
	to := append([]byte{sep}, key...)
	if err := deleteWhere(w.bk.edges, func(k, _ []byte) bool { return bytes.HasSuffix(k, to) }); err != nil {
		return "", out, fmt.Errorf("delete edges to job %s: %w", id, err)
	}
	if out.counted {
		w.counts.add(out.state, out.priority, -1)
		w.cdirty = true
	}
	w.dropped = append(w.dropped, id)
	g, err := dropRefs(w.bk, id, h)
	return g, out, err
}

// deleteWhere deletes the entries of b that match.
func deleteWhere(b *bolt.Bucket, match func(k, v []byte) bool) error {
	var keys [][]byte
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if match(k, v) {
			keys = append(keys, bytes.Clone(k))
		}
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
