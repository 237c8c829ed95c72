package store

import (
	"context"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// damagedJobs is what the Queue knows of its damaged job records, so that
// Counts leaves them out of the states no list can show them in and
// DamagedJobs says how many there are. The stored counts still count a
// damaged record in the state it had when last written (it is never
// rewritten), which the record can no longer say: adj is that part of
// the counts. It is found by one scan of every job record's checksum,
// the first time it is asked for after open, not at open: start-up
// reads only live records. Damage that appears later, while the host
// runs, is counted from the next open.
type damagedJobs struct {
	mu      sync.Mutex
	scanned bool
	ids     map[string]bool
	adj     countsP
}

// DamagedJobs is the number of job records that fail their checksum:
// hosts leave them aside, Check lists them, Delete removes them.
func (q *Queue) DamagedJobs(ctx context.Context) (int, error) {
	d, err := q.damage(ctx)
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.ids), nil
}

// damage is q's damaged job records, scanned for once per open.
func (q *Queue) damage(ctx context.Context) (*damagedJobs, error) {
	d := &q.damaged
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.scanned {
		return d, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	err := q.s.view(func(tx *bolt.Tx) error {
		ids, adj, err := q.s.scanDamaged(tx)
		d.ids, d.adj = ids, adj
		return err
	})
	if err != nil {
		return nil, err
	}
	d.scanned = true
	return d, nil
}

// scanDamaged finds the job records of tx that fail their checksum and
// the part of the stored counts that counts them: from each one's live
// index entry, or, where one is finished (or its entry is damaged too),
// as the stored counts less the counts of the sound records, which
// decodes the head of every record once.
func (s *Store) scanDamaged(tx *bolt.Tx) (map[string]bool, countsP, error) {
	var adj countsP
	ids := map[string]bool{}
	live, jobs := tx.Bucket(bLive), tx.Bucket(bJobs)
	known := true
	c := jobs.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if _, problem := unseal(k, v); problem == "" {
			continue
		}
		ids[string(k)] = true
		lr, err := decodeLive(live.Get(k))
		if err != nil {
			known = false
			continue
		}
		adj.add(lr.state, lr.priority, 1)
	}
	if known || len(ids) == 0 {
		return ids, adj, nil
	}
	stored, ok := decodeCountsP(tx.Bucket(bMeta).Get(countsPKey))
	if !ok {
		return nil, adj, newError(ErrCorrupt, nil, fmt.Sprintf("data file %s: job counts record is missing or damaged", s.path))
	}
	var sound countsP
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if ids[string(k)] {
			continue
		}
		h, err := s.decodeHead(k, v)
		if err != nil {
			continue
		}
		sound.add(h.State, h.Priority, 1)
	}
	for i := range stored {
		for p := range stored[i] {
			adj[i][p] = max(stored[i][p]-sound[i][p], 0)
		}
	}
	return ids, adj, nil
}

// listable is c less what it counts of damaged records.
func (d *damagedJobs) listable(c countsP) countsP {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range c {
		for p := range c[i] {
			c[i][p] = max(c[i][p]-d.adj[i][p], 0)
		}
	}
	return c
}
