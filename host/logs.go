package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/joblog"
)

// logRemovable reports whether job id's log may be removed to keep the
// logs under Config.MaxLogTotalBytes: the job is finished, or gone.
func logRemovable(st backend.Store, id string) bool {
	j, err := st.Job(context.Background(), id)
	if errors.Is(err, backend.ErrNotFound) {
		return true
	}
	return err == nil && j.State.Terminal()
}

// EachLog calls fn with each of job id's log records that start at byte
// offset from or later, oldest first, one at a time, and returns the
// offset to go on from: memory does not grow with the log, and a reader
// following a running job reads each record once. Records still buffered
// by a running attempt are not on disk yet; they are once the job has
// finished. An error from fn, or ctx ending, stops the walk.
func (h *Host) EachLog(ctx context.Context, id string, from int64, fn func(LogRecord) error) (int64, error) {
	if from < 0 {
		return 0, invalidf("log offset %d is negative", from)
	}
	j, err := h.Get(ctx, id)
	if err != nil {
		return from, err
	}
	if err := h.logsElsewhere(ctx, j); err != nil {
		return from, err
	}
	return h.logs.Each(id, from, func(r joblog.Record) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(LogRecord(r))
	})
}

// logTailBytes bounds the records LogTail holds, whatever their number.
const logTailBytes = 4 << 20

// LogTail returns the last n records of job id's log (fewer if they would
// exceed 4 MiB), oldest first, and how many records came before them. It
// reads the whole log but holds only what it returns.
func (h *Host) LogTail(ctx context.Context, id string, n int) ([]LogRecord, int, error) {
	if n <= 0 {
		return nil, 0, invalidf("log tail of %d records: want at least 1", n)
	}
	if _, err := h.Get(ctx, id); err != nil {
		return nil, 0, err
	}
	recs, skipped, err := h.logs.Tail(id, n, logTailBytes)
	if err != nil {
		return nil, 0, err
	}
	out := make([]LogRecord, len(recs))
	for i, r := range recs {
		out[i] = LogRecord(r)
	}
	return out, skipped, nil
}

// logsElsewhere refuses, on a shared queue, to read the log of a job none
// of whose attempts ran on this host: its records are in the data dir of
// the host that ran it, and an empty answer (or a follow that never
// prints) would look like a job that logged nothing. The error names that
// host.
func (h *Host) logsElsewhere(ctx context.Context, j *Job) error {
	if !h.shared || len(j.Attempts) == 0 {
		return nil
	}
	self := h.e.Owner()
	for _, a := range j.Attempts {
		if a.Host == self {
			return nil
		}
	}
	last := j.Attempts[len(j.Attempts)-1].Host
	where := "host " + last
	if hs, err := h.Hosts(ctx); err == nil {
		for _, s := range hs {
			if s.Owner == last {
				where = fmt.Sprintf("host %s (%s, pid %d)", s.Owner, s.Name, s.PID)
			}
		}
	}
	return &kindError{ErrState, fmt.Sprintf("job %s ran on %s: its log is kept in that host's data dir; ask that host for it", j.ID, where)}
}
