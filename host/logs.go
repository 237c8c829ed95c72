package host

import (
	"context"
	"errors"

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
// finished. On a shared queue the log is the one the hosts ship to the
// database, whichever host ran the job: a running attempt's records are
// there about a quarter second after it wrote them. An error from fn, or
// ctx ending, stops the walk.
func (h *Host) EachLog(ctx context.Context, id string, from int64, fn func(LogRecord) error) (int64, error) {
	if from < 0 {
		return 0, invalidf("log offset %d is negative", from)
	}
	if _, err := h.Get(ctx, id); err != nil {
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
