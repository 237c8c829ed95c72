package joblog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// Chunk is a piece of a job's log as a shared store keeps it: whole
// records, placed at the byte offset where they start in the log.
type Chunk struct {
	Offset int64
	Data   []byte
}

// Shared is a store every host of a queue reaches (its database): the
// writers of a Dir that has one ship their records to it, and the Dir
// reads logs from it, so that a job's log reads the same on every host,
// whichever ran the job. The files stay as this host's copy.
type Shared interface {
	// AppendLog adds whole records at the end of the job's log.
	AppendLog(ctx context.Context, jobID string, data []byte) error
	// LogChunks answers up to limit chunks that end after offset from,
	// in log order.
	LogChunks(ctx context.Context, jobID string, from int64, limit int) ([]Chunk, error)
	// RemoveLogs deletes the jobs' logs (a job's go with it anyway).
	RemoveLogs(ctx context.Context, jobIDs ...string) error
}

// SetShared makes d ship and read its logs through s, and remove them
// there too; call it before the first writer.
func (d *Dir) SetShared(s Shared) { d.shared = s }

// removeShared deletes the jobs' logs from the shared store, if any:
// the total cap (SetMaxTotalBytes) removes a finished job's log there
// too, so that each host's cap bounds the logs it wrote, in the
// database as on its disk.
func (d *Dir) removeShared(ids ...string) error {
	if d.shared == nil || len(ids) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), shipTimeout)
	defer cancel()
	return d.shared.RemoveLogs(ctx, ids...)
}

// Shipping: a writer sends what it wrote at most shipEvery after it
// wrote it, in pieces of at most shipBytes, so that a reader on another
// host following a running job sees its records within about that, and
// the rest when the attempt ends (Close ships before it returns).
const (
	shipEvery = 250 * time.Millisecond
	shipBytes = 256 << 10
)

// shipTimeout bounds one ship: a database that does not answer must not
// hold a log writer, or an attempt's end, for long.
const shipTimeout = 10 * time.Second

// queueShip keeps an encoded record (newline included) for the next
// ship and arms the ship timer (nothing without a shared store); the
// caller holds mu.
func (w *Writer) queueShip(line []byte) {
	if w.d.shared == nil {
		return
	}
	w.pending = append(w.pending, line...)
	if w.armed || w.closed {
		return
	}
	w.armed = true
	if w.timer == nil {
		w.timer = time.AfterFunc(shipEvery, func() { w.ship() })
	} else {
		w.timer.Reset(shipEvery)
	}
}

// ship sends what is pending, in order (shipMu keeps one ship at a
// time). What a failed ship did not send goes back ahead of newer
// records, for the next ship; Close's ship is the last, and what it
// cannot send stays in this host's file only.
func (w *Writer) ship() error {
	w.shipMu.Lock()
	defer w.shipMu.Unlock()
	w.mu.Lock()
	data := w.pending
	w.pending, w.armed = nil, false
	w.mu.Unlock()
	for len(data) > 0 {
		n := pieceLen(data)
		ctx, cancel := context.WithTimeout(context.Background(), shipTimeout)
		err := w.d.shared.AppendLog(ctx, w.jobID, data[:n])
		cancel()
		if err != nil {
			w.mu.Lock()
			w.pending = append(data, w.pending...)
			if !w.closed && !w.armed {
				w.armed = true
				w.timer.Reset(shipEvery)
			}
			w.mu.Unlock()
			return err
		}
		data = data[n:]
	}
	return nil
}

// pieceLen is how much of data the next ship sends: up to shipBytes,
// ending at a record's end (a longer record goes whole).
func pieceLen(data []byte) int {
	if len(data) <= shipBytes {
		return len(data)
	}
	if i := bytes.LastIndexByte(data[:shipBytes], '\n'); i >= 0 {
		return i + 1
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1
	}
	return len(data)
}

// chunkReader reads a job's shipped log from an offset on, a few chunks
// at a time, so that memory does not grow with the log.
type chunkReader struct {
	s     Shared
	jobID string
	off   int64 // the log offset after what buf holds
	buf   []byte
	done  bool
}

// chunksAtOnce bounds the chunks one read asks for (each at most
// shipBytes, or one record).
const chunksAtOnce = 4

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.done {
			return 0, io.EOF
		}
		cs, err := r.s.LogChunks(context.Background(), r.jobID, r.off, chunksAtOnce)
		if err != nil {
			return 0, err
		}
		if len(cs) < chunksAtOnce {
			r.done = true
		}
		for _, c := range cs {
			if c.Offset > r.off {
				return 0, fmt.Errorf("job log of %s: no chunk from offset %d to %d", r.jobID, r.off, c.Offset)
			}
			r.buf = append(r.buf, c.Data[r.off-c.Offset:]...)
			r.off = c.Offset + int64(len(c.Data))
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *chunkReader) Close() error { return nil }

// reader opens jobID's log at offset from: the shared store's when d has
// one, else the file; nil (and no error) when the job never logged.
func (d *Dir) reader(jobID string, from int64) (io.ReadCloser, error) {
	if d.shared != nil {
		return &chunkReader{s: d.shared, jobID: jobID, off: from}, nil
	}
	f, err := os.Open(d.file(jobID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
