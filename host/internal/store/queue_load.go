package store

import (
	"bytes"
	"fmt"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/batchhost/batchhost/host/internal/model"
)

// load prepares the file for the Queue (once: compact live records and
// counts by priority, built from the records of a file written before
// them) and loads the ready index and the running jobs. It reads the live
// index and only the running jobs' records, so start-up follows the
// number of unfinished jobs, not the size of their records.
func (q *Queue) load() error {
	if err := q.s.update(q.upgrade); err != nil {
		return fmt.Errorf("open queue %s: %w", q.s.path, err)
	}
	var damaged []string
	err := q.s.view(func(tx *bolt.Tx) error {
		live, jobs := tx.Bucket(bLive), tx.Bucket(bJobs)
		c := live.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			r, err := decodeLive(v)
			if err != nil {
				// Left out of dispatch, as a damaged record is.
				q.s.noteDamaged("job", string(k), newError(ErrDamaged, err, fmt.Sprintf(
					"job %s: its live index entry is damaged (%v) in data file %s", k, err, q.s.path)))
				damaged = append(damaged, string(k))
				continue
			}
			q.seq = max(q.seq, r.seq)
			switch {
			case r.state == model.Queued:
				q.idx.load(q.idx.entry(string(k), r.task, r.priority, r.readyAt, r.runAt, r.seq, r.need))
			case r.state == model.Running || (r.state == model.Paused && r.pausedFrom == model.Running):
				data := jobs.Get(k)
				if data == nil {
					return newError(ErrCorrupt, nil, fmt.Sprintf("data file %s: live index names job %s, which has no record", q.s.path, k))
				}
				j, err := q.s.decodeJob(k, data)
				if q.s.skipDamaged("job", k, err) {
					// Not rescued, not run again: left as it is.
					damaged = append(damaged, string(k))
					continue
				}
				if err != nil {
					return err
				}
				q.running.set(j)
			}
		}
		q.idx.loaded()
		q.durableSeq.Store(q.seq)
		return nil
	})
	if err != nil {
		return fmt.Errorf("open queue %s: %w", q.s.path, err)
	}
	if len(damaged) > 0 {
		q.s.log.Error("damaged job records found at open: those jobs are left aside (not run, not changed); `batchhost check` lists every damaged record",
			"path", q.s.path, "count", len(damaged), "jobs", strings.Join(damaged[:min(len(damaged), 10)], " "))
	}
	// Give back what the load's temporaries took (decoded keys, grown and
	// clipped heaps): with a million queued jobs, tens of megabytes the
	// host would otherwise hold until the runtime returns them.
	debug.FreeOSMemory()
	return nil
}

// upgrade writes what a file made before the Queue lacks: a compact live
// record for each unfinished job (in the order the jobs became ready) and
// the counts by state and priority.
func (q *Queue) upgrade(tx *bolt.Tx) error {
	bk := openBuckets(tx)
	if err := bk.meta.Put(schemaKey, []byte(strconv.Itoa(SchemaVersion))); err != nil {
		return err
	}
	if _, ok := decodeCountsP(bk.meta.Get(countsPKey)); ok {
		return nil
	}
	var cnt countsP
	if err := bk.jobs.ForEach(func(k, v []byte) error {
		h, err := q.s.decodeHead(k, v)
		if q.s.skipDamaged("job", k, err) {
			return nil // not counted: reads leave it out as well
		}
		if err != nil {
			return err
		}
		cnt.add(h.State, h.Priority, 1)
		return nil
	}); err != nil {
		return err
	}
	var old []*model.Job
	c := bk.live.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if compactLive(v) {
			continue
		}
		data := bk.jobs.Get(k)
		if data == nil {
			return newError(ErrCorrupt, nil, fmt.Sprintf("data file %s: live index names job %s, which has no record", q.s.path, k))
		}
		j, err := q.s.decodeJob(k, data)
		if q.s.skipDamaged("job", k, err) {
			continue // its old live entry stays: load leaves it aside
		}
		if err != nil {
			return err
		}
		old = append(old, j)
	}
	slices.SortStableFunc(old, func(a, b *model.Job) int {
		if d := readyTime(a) - readyTime(b); d != 0 {
			if d < 0 {
				return -1
			}
			return 1
		}
		return bytes.Compare([]byte(a.ID), []byte(b.ID))
	})
	for i, j := range old {
		if err := bk.live.Put([]byte(j.ID), liveOf(j, uint64(i+1)).encode()); err != nil {
			return err
		}
	}
	return bk.meta.Put(countsPKey, cnt.encode())
}
