package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// JobIDsWithPrefix returns the ids of stored jobs that begin with prefix,
// in id order, at most limit of them (limit <= 0 means 1). It seeks the
// jobs bucket, so its cost follows the matches, not the jobs stored. An
// empty prefix matches nothing: it is no id at all.
func (s *Store) JobIDsWithPrefix(prefix string, limit int) ([]string, error) {
	return s.idsWithPrefix(bJobs, prefix, limit)
}

// GroupIDsWithPrefix is JobIDsWithPrefix for groups.
func (s *Store) GroupIDsWithPrefix(prefix string, limit int) ([]string, error) {
	return s.idsWithPrefix(bGroups, prefix, limit)
}

func (s *Store) idsWithPrefix(bucket []byte, prefix string, limit int) ([]string, error) {
	if prefix == "" {
		return nil, nil
	}
	limit = max(limit, 1)
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		p := []byte(prefix)
		c := tx.Bucket(bucket).Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p) && len(out) < limit; k, _ = c.Next() {
			out = append(out, string(k))
		}
		return nil
	})
	return out, err
}

// JobIDsWithPrefix returns the ids of stored jobs that begin with prefix;
// see Store.JobIDsWithPrefix.
func (q *Queue) JobIDsWithPrefix(prefix string, limit int) ([]string, error) {
	return q.s.JobIDsWithPrefix(prefix, limit)
}

// GroupIDsWithPrefix returns the ids of stored groups that begin with
// prefix; see Store.JobIDsWithPrefix.
func (q *Queue) GroupIDsWithPrefix(prefix string, limit int) ([]string, error) {
	return q.s.GroupIDsWithPrefix(prefix, limit)
}
