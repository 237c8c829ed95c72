package postgres

import (
	"context"
)

// JobIDsWithPrefix returns the ids of stored jobs that begin with prefix,
// in id order, at most limit of them (limit <= 0 means 1); an empty
// prefix matches nothing. The host resolves the id prefixes users type
// with it. It reads the ids in the primary key's order, and compares
// bytes, not the database's collation.
func (s *Store) JobIDsWithPrefix(prefix string, limit int) ([]string, error) {
	return s.idsWithPrefix("jobs", prefix, limit)
}

// GroupIDsWithPrefix is JobIDsWithPrefix for groups.
func (s *Store) GroupIDsWithPrefix(prefix string, limit int) ([]string, error) {
	return s.idsWithPrefix("groups", prefix, limit)
}

func (s *Store) idsWithPrefix(table, prefix string, limit int) ([]string, error) {
	if prefix == "" {
		return nil, nil
	}
	limit = max(limit, 1)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.StatementTimeout)
	defer cancel()
	var out []string
	err := s.read(ctx, func(q querier) error {
		rows, err := q.Query(ctx, `SELECT id FROM `+table+` WHERE starts_with(id, $1) ORDER BY id COLLATE "C" LIMIT $2`, prefix, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	return out, err
}
