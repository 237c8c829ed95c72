// Package joblog keeps each job's log records in a file of its own under the
// data directory, one JSON object a line. Logs are not state: they are
// appended without fsync and a crash may lose the last lines of a running
// attempt, never a state transition.
package joblog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Record is one log line of a job.
type Record struct {
	Time    time.Time       `json:"time"`
	Attempt int             `json:"attempt"`
	Level   string          `json:"level"`
	Message string          `json:"message"`
	Fields  json.RawMessage `json:"fields,omitempty"`
}

// Dir is the log directory.
type Dir struct {
	path string
	// maxJob caps each job's log file (all its attempts): one task that
	// floods its log must not fill the disk the queue lives on. 0: none.
	maxJob int64
}

// Open makes sure the directory exists.
func Open(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	return &Dir{path: path}, nil
}

// SetMaxJobBytes caps each job's log at n bytes (0: no cap). Records past
// the cap are counted and dropped; when the attempt's writer closes, one
// marker record says how many (it may take the file a little past n).
func (d *Dir) SetMaxJobBytes(n int64) { d.maxJob = n }

func (d *Dir) file(jobID string) string { return filepath.Join(d.path, jobID+".jsonl") }

// Writer appends records of one job. It opens the file on the first record,
// so jobs that never log leave no file behind.
type Writer struct {
	d     *Dir
	jobID string
	mu    sync.Mutex
	f     *os.File
	bw    *bufio.Writer
	err   error
	size  int64 // the file's size, as far as this writer knows
	// dropped counts the records (and bytes) past the job's cap, the last
	// of them of attempt attempt.
	dropped, droppedBytes int64
	attempt               int
}

// Writer returns a writer for jobID's log.
func (d *Dir) Writer(jobID string) *Writer { return &Writer{d: d, jobID: jobID} }

// Append writes one record. The first error sticks and is returned by Close;
// a log that cannot be written must not fail the job.
func (w *Writer) Append(r Record) {
	b, err := json.Marshal(r)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return
	}
	if err != nil {
		w.err = err
		return
	}
	if w.f == nil && !w.open() {
		return
	}
	if max := w.d.maxJob; max > 0 && w.size+int64(len(b))+1 > max {
		w.dropped++
		w.droppedBytes += int64(len(b)) + 1
		w.attempt = r.Attempt
		return
	}
	w.write(b)
}

// open opens the job's file for appending; the caller holds mu.
func (w *Writer) open() bool {
	w.f, w.err = os.OpenFile(w.d.file(w.jobID), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if w.err != nil {
		return false
	}
	if fi, err := w.f.Stat(); err == nil {
		w.size = fi.Size() // an earlier attempt's records count toward the cap
	}
	w.bw = bufio.NewWriter(w.f)
	return true
}

// write appends one encoded record; the caller holds mu.
func (w *Writer) write(b []byte) {
	w.bw.Write(b)
	w.err = w.bw.WriteByte('\n')
	w.size += int64(len(b)) + 1
}

// Flush pushes buffered records to the file, for readers following it.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.bw != nil && w.err == nil {
		w.err = w.bw.Flush()
	}
	return w.err
}

// Close writes the marker of dropped records, if any, then flushes and
// closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.dropped > 0 && w.err == nil && w.f != nil {
		b, err := json.Marshal(Record{Time: time.Now(), Attempt: w.attempt, Level: "warn", Message: fmt.Sprintf(
			"log cap of %d bytes for this job reached: %d more records (%d bytes) were dropped", w.d.maxJob, w.dropped, w.droppedBytes)})
		if err == nil {
			w.write(b)
		}
		w.dropped, w.droppedBytes = 0, 0
	}
	w.mu.Unlock()
	err := w.Flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		if cerr := w.f.Close(); err == nil {
			err = cerr
		}
		w.f = nil
	}
	return err
}

// Read returns every record of jobID, oldest first; none if it never
// logged. A torn last line (a crash mid-write) is skipped.
func (d *Dir) Read(jobID string) ([]Record, error) {
	f, err := os.Open(d.file(jobID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			out = append(out, r)
		}
	}
	return out, sc.Err()
}

// Remove deletes the logs of the given jobs; missing files are fine.
func (d *Dir) Remove(ids ...string) error {
	var first error
	for _, id := range ids {
		if err := os.Remove(d.file(id)); err != nil && !errors.Is(err, fs.ErrNotExist) && first == nil {
			first = err
		}
	}
	return first
}
