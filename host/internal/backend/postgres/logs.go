package postgres

import (
	"context"

	"github.com/batchhost/batchhost/host/internal/backend"

	"github.com/batchhost/batchhost/host/internal/joblog"
)

// AppendLog stores data (whole log records) at the end of job id's
// shipped log, at the byte offset where the log stored so far ends. One
// host ships a job's log at a time (its attempts never overlap); two
// ships racing for one offset (a rescued attempt's last records) are
// told apart by the primary key, and the one that lost goes again after
// the other. A job that is gone takes no log: its ship is dropped.
func (s *Store) AppendLog(ctx context.Context, id string, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	return s.auto(ctx, func(q querier) error {
		for range maxRetries {
			tag, err := q.Exec(ctx, `
INSERT INTO job_logs (job_id, at_offset, data)
SELECT $1, coalesce((SELECT at_offset + octet_length(data) FROM job_logs WHERE job_id = $1
	ORDER BY at_offset DESC LIMIT 1), 0), $2
WHERE EXISTS (SELECT 1 FROM jobs WHERE id = $1)
ON CONFLICT (job_id, at_offset) DO NOTHING`, id, data)
			if err != nil || tag.RowsAffected() == 1 {
				return err
			}
			var exists bool
			if err := q.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM jobs WHERE id = $1)", id).Scan(&exists); err != nil || !exists {
				return err
			}
		}
		return storeErr(backend.ErrConflict, "log of job %s: %d ships in a row lost their place to another", id, maxRetries)
	})
}

// LogChunks answers up to limit of job id's stored log chunks that end
// after byte offset from, in log order.
func (s *Store) LogChunks(ctx context.Context, id string, from int64, limit int) ([]joblog.Chunk, error) {
	var out []joblog.Chunk
	err := s.read(ctx, func(q querier) error {
		rows, err := q.Query(ctx, `SELECT at_offset, data FROM job_logs
WHERE job_id = $1 AND at_offset + octet_length(data) > $2 ORDER BY at_offset LIMIT $3`, id, from, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c joblog.Chunk
			if err := rows.Scan(&c.Offset, &c.Data); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// RemoveLogs deletes the jobs' shipped logs (a job's go with it anyway:
// this is for a host's cap on the logs it wrote).
func (s *Store) RemoveLogs(ctx context.Context, ids ...string) error {
	return s.auto(ctx, func(q querier) error {
		_, err := q.Exec(ctx, "DELETE FROM job_logs WHERE job_id = ANY($1)", forValues(len(ids), ids)...)
		return err
	})
}
