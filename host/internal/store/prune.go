package store

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Prune deletes up to limit terminal jobs that finished before before,
// oldest first, and returns their ids so that the engine can delete their
// logs. With each job go its finished-index entry, its idempotency key, its
// membership, the reverse edges from it (to its dependents) and to it (from
// its dependencies), and its place in the counts. A group that is done and
// has no member left is deleted too.
//
// Prune runs its own transaction, which bbolt serializes with the writer's.
// It reads only the finished index up to before and the records it deletes.
func (s *Store) Prune(before time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, newError(ErrInvalid, nil, fmt.Sprintf("prune: limit must be positive, got %d", limit))
	}
	if err := s.failed(); err != nil {
		return nil, err
	}
	var pruned []string
	err := s.update(func(tx *bolt.Tx) error {
		pruned = pruned[:0]
		bk := openBuckets(tx)
		cnt, err := decodeCounts(bk.meta.Get(countsKey))
		if err != nil {
			return newError(ErrCorrupt, err, fmt.Sprintf("data file %s: %v", s.path, err))
		}
		// Collect first: deleting under a cursor skips entries in bbolt.
		var victims [][]byte
		end := finishedKeyBound(before)
		c := bk.finished.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, end) < 0 && len(victims) < limit; k, _ = c.Next() {
			victims = append(victims, bytes.Clone(k))
		}
		groups := map[string]bool{}
		for _, fk := range victims {
			_, id := splitFinishedKey(fk)
			if err := bk.finished.Delete(fk); err != nil {
				return fmt.Errorf("unindex finished job %s: %w", id, err)
			}
			g, ok, err := s.pruneJob(bk, &cnt, id)
			if err != nil {
				return err
			}
			if ok {
				pruned = append(pruned, id)
			}
			if g != "" {
				groups[g] = true
			}
		}
		if err := s.scheduledGroups(bk, groups); err != nil {
			return err
		}
		for g := range groups {
			if err := s.pruneGroup(bk, g); err != nil {
				return err
			}
		}
		if len(victims) > 0 {
			if err := bk.meta.Put(countsKey, cnt.encode()); err != nil {
				return fmt.Errorf("put counts: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	return pruned, nil
}

// pruneJob deletes one finished job and everything that points at it. It
// reports the group it was a member of, and false if the entry was stale
// (the job is live again or gone), in which case only the entry went.
func (s *Store) pruneJob(bk buckets, cnt *counts, id string) (string, bool, error) {
	key := []byte(id)
	data := bk.jobs.Get(key)
	if data == nil || bk.live.Get(key) != nil {
		s.log.Warn("stale finished-index entry dropped", "job", id)
		return "", false, nil
	}
	h, err := s.decodeHead(key, data)
	if err != nil {
		return "", false, err
	}
	if !h.State.Terminal() {
		s.log.Warn("finished-index entry for a live job dropped", "job", id, "state", h.State)
		return "", false, nil
	}
	if err := bk.jobs.Delete(key); err != nil {
		return "", false, fmt.Errorf("delete job %s: %w", id, err)
	}
	cnt.add(h.State, -1)
	group, err := dropRefs(bk, id, h)
	return group, err == nil, err
}

// dropRefs deletes what points at a deleted job: its idempotency key (if
// it still names the job), the edges from it to its dependents and to it
// from its dependencies, and its membership. Its dependents' records keep
// it in DependsOn: a job not stored counts as completed. It reports the
// group the job was a member of.
func dropRefs(bk buckets, id string, h *jobHead) (string, error) {
	key := []byte(id)
	if h.Key != "" && bytes.Equal(bk.keys.Get([]byte(h.Key)), key) {
		if err := bk.keys.Delete([]byte(h.Key)); err != nil {
			return "", fmt.Errorf("delete key of job %s: %w", id, err)
		}
	}
	// Edges from it: dep id is the prefix.
	if err := deletePrefix(bk.edges, prefix(id)); err != nil {
		return "", fmt.Errorf("delete edges of job %s: %w", id, err)
	}
	// Edges to it, from its dependencies.
	for _, d := range h.DependsOn {
		if err := bk.edges.Delete(edgeKey(d.ID, id)); err != nil {
			return "", fmt.Errorf("delete edge %s -> %s: %w", d.ID, id, err)
		}
	}
	var group string
	if mk := bytes.Clone(bk.memberOf.Get(key)); mk != nil {
		group = groupOfMemberKey(mk)
		if err := bk.members.Delete(mk); err != nil {
			return "", fmt.Errorf("delete membership of job %s: %w", id, err)
		}
		if err := bk.memberOf.Delete(key); err != nil {
			return "", fmt.Errorf("delete membership of job %s: %w", id, err)
		}
	}
	return group, nil
}

// scheduledGroups takes out of groups those a schedule's template names:
// a schedule adds each run to its template's group, so the group must
// outlive its members while the schedule exists.
func (s *Store) scheduledGroups(bk buckets, groups map[string]bool) error {
	if len(groups) == 0 {
		return nil
	}
	return bk.schedules.ForEach(func(k, v []byte) error {
		sc, err := s.decodeSchedule(k, v)
		if err == nil {
			delete(groups, sc.Template.Group)
		}
		return err
	})
}

// hasMembers reports whether group g has a member left.
func hasMembers(bk buckets, g string) bool {
	k, _ := bk.members.Cursor().Seek(prefix(g))
	return k != nil && bytes.HasPrefix(k, prefix(g))
}

// deleteGroup deletes group g's record and its place in the open index.
func deleteGroup(bk buckets, g string) error {
	if err := bk.groups.Delete([]byte(g)); err != nil {
		return fmt.Errorf("delete group %s: %w", g, err)
	}
	if err := bk.open.Delete([]byte(g)); err != nil {
		return fmt.Errorf("delete group %s: %w", g, err)
	}
	return nil
}

// pruneGroup deletes group g if it is done and has no member left.
func (s *Store) pruneGroup(bk buckets, g string) error {
	if hasMembers(bk, g) {
		return nil
	}
	data := bk.groups.Get([]byte(g))
	if data == nil {
		return nil
	}
	grp, err := s.decodeGroup([]byte(g), data)
	if err != nil || !grp.Done() {
		return err
	}
	return deleteGroup(bk, g)
}

// deletePrefix deletes every key of b starting with p.
func deletePrefix(b *bolt.Bucket, p []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
