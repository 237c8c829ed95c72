package store

import (
	"sync"

	"github.com/batchhost/batchhost/host/internal/model"
)

// committedRecords holds the job records the last durable commits wrote,
// up to a bound, for reads: a job read soon after a commit changed it (a
// waiter reading the job that just ended, a client polling one it
// submitted) is answered without a read transaction and without decoding
// its record. Only the writer changes it, once a commit is durable and
// before the commit's operations are answered, in commit order: a record
// in it is the one in the file, and whoever heard of a change reads it.
// Records in it are never changed (a transaction's records are not
// touched once it is decided); readers get clones.
type committedRecords struct {
	mu   sync.Mutex
	m    map[string]committedRecord
	ring []string // ids in the order put; the oldest is evicted first
	next int      // the slot of ring the next put takes
}

type committedRecord struct {
	j    *model.Job
	slot int // the slot of ring that holds its id
}

// Bounds of committedRecords: the records of a few seconds of a busy
// host's commits, each small (a record with big args or a big result is
// read from the file instead).
const (
	maxCommittedRecords     = 4096
	maxCommittedRecordBytes = 16 << 10
)

// get returns a clone of job id's committed record, or nil when it is not
// held.
func (c *committedRecords) get(id string) *model.Job {
	c.mu.Lock()
	r, ok := c.m[id]
	c.mu.Unlock()
	if !ok {
		return nil
	}
	return r.j.Clone()
}

// update takes in what a durable transaction wrote and deleted.
func (c *committedRecords) update(w *wtx) {
	if len(w.order) == 0 && len(w.dropped) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]committedRecord, maxCommittedRecords)
		c.ring = make([]string, maxCommittedRecords)
	}
	for _, e := range w.order {
		if e.deleted || len(e.j.Args)+len(e.j.Result) > maxCommittedRecordBytes {
			delete(c.m, e.j.ID)
			continue
		}
		c.put(e.j)
	}
	for _, id := range w.dropped {
		delete(c.m, id)
	}
}

// put holds j, evicting the oldest record when full. The caller holds mu.
func (c *committedRecords) put(j *model.Job) {
	if old := c.ring[c.next]; old != "" {
		// An id put again since holds a later slot: only its last
		// slot evicts it.
		if r, ok := c.m[old]; ok && r.slot == c.next {
			delete(c.m, old)
		}
	}
	c.ring[c.next] = j.ID
	c.m[j.ID] = committedRecord{j: j, slot: c.next}
	c.next = (c.next + 1) % len(c.ring)
}

// clear forgets every record.
func (c *committedRecords) clear() {
	c.mu.Lock()
	c.m, c.ring, c.next = nil, nil, 0
	c.mu.Unlock()
}
