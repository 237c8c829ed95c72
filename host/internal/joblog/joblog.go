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
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	// maxTotal caps the bytes of every log in the directory; finished
	// tells which jobs' logs may be removed to stay under it. 0: none.
	maxTotal int64
	finished func(jobID string) bool
	total    atomic.Int64 // bytes of the logs, as far as the writers know
	shared   Shared       // when set, where logs are shipped to and read from (SetShared)

	mu          sync.Mutex
	open        map[string]int // jobs with a writer open: their logs are not removed
	reclaimedAt time.Time      // the last reclaim that could not get under the cap
}

// reclaimEvery bounds how often a log that finds the total cap reached
// looks for finished jobs' logs to remove, when the last look found too
// little: a flood of records past the cap must not list the directory
// for each.
const reclaimEvery = time.Second

// Open makes sure the directory exists and counts the bytes it holds.
func Open(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	d := &Dir{path: path, open: map[string]int{}}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".jsonl") {
			continue
		}
		if fi, err := e.Info(); err == nil {
			d.total.Add(fi.Size())
		}
	}
	return d, nil
}

// SetMaxTotalBytes caps the bytes of all the logs of the directory at n
// (0: no cap). A record that would take the total past n first makes room
// by removing the logs of finished jobs, least recently written first
// (finished says which jobs are finished; a job no writer has open and
// finished does not name is kept), down to nine tenths of n; if that is
// not enough the record is dropped and counted as past the job's cap is,
// with one marker record per attempt.
func (d *Dir) SetMaxTotalBytes(n int64, finished func(jobID string) bool) {
	d.maxTotal, d.finished = n, finished
}

// TotalBytes is the bytes the directory's logs hold, as far as this Dir
// knows (the records it wrote since Open, buffered ones included).
func (d *Dir) TotalBytes() int64 { return d.total.Load() }

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
	// of them of attempt attempt; over those past the total cap.
	dropped, droppedBytes int64
	over, overBytes       int64
	attempt               int
	registered            bool // counted in d.open: its log is not removed

	// Shipping to d.shared (see ship): what is written and not shipped
	// yet, whether the ship timer is armed, whether Close has begun.
	pending       []byte
	armed, closed bool
	timer         *time.Timer
	shipMu        sync.Mutex
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
	n := int64(len(b)) + 1
	if max := w.d.maxJob; max > 0 && w.size+n > max {
		w.dropped++
		w.droppedBytes += n
		w.attempt = r.Attempt
		return
	}
	if !w.d.room(n) {
		w.over++
		w.overBytes += n
		w.attempt = r.Attempt
		return
	}
	w.write(b)
}

// room reports whether n more bytes fit under the total cap, making room
// if they do not (see SetMaxTotalBytes).
func (d *Dir) room(n int64) bool {
	if d.maxTotal <= 0 || d.total.Load()+n <= d.maxTotal {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.total.Load()+n <= d.maxTotal {
		return true // another writer made room meanwhile
	}
	if time.Since(d.reclaimedAt) < reclaimEvery {
		return false
	}
	d.reclaimLocked(d.maxTotal/10*9 - n)
	if d.total.Load()+n <= d.maxTotal {
		return true
	}
	d.reclaimedAt = time.Now()
	return false
}

// reclaimLocked removes the logs of finished jobs, least recently
// written first, until the total is at most target. The caller holds mu.
func (d *Dir) reclaimLocked(target int64) {
	if d.finished == nil {
		return
	}
	ents, err := os.ReadDir(d.path)
	if err != nil {
		return
	}
	type logFile struct {
		id   string
		size int64
		mod  time.Time
	}
	var logs []logFile
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".jsonl")
		if !ok || d.open[id] > 0 {
			continue
		}
		if fi, err := e.Info(); err == nil {
			logs = append(logs, logFile{id, fi.Size(), fi.ModTime()})
		}
	}
	slices.SortFunc(logs, func(a, b logFile) int { return a.mod.Compare(b.mod) })
	for _, l := range logs {
		if d.total.Load() <= target {
			return
		}
		if !d.finished(l.id) {
			continue
		}
		if err := os.Remove(d.file(l.id)); err == nil {
			d.total.Add(-l.size)
			d.removeShared(l.id)
		}
	}
}

// open opens the job's file for appending; the caller holds mu.
func (w *Writer) open() bool {
	w.d.mu.Lock()
	w.d.open[w.jobID]++
	w.d.mu.Unlock()
	w.registered = true
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
	w.d.total.Add(int64(len(b)) + 1)
	w.queueShip(append(b, '\n'))
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

// Close writes the markers of dropped records, if any, then flushes and
// closes the file, and ships what is left to the shared store, if any.
func (w *Writer) Close() error {
	err := w.closeFile()
	if w.d.shared == nil {
		return err
	}
	w.mu.Lock()
	w.closed = true
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
	return errors.Join(err, w.ship())
}

func (w *Writer) closeFile() error {
	w.mu.Lock()
	if w.err == nil && w.f != nil {
		w.marker(w.dropped, fmt.Sprintf("log cap of %d bytes for this job reached: %d more records (%d bytes) were dropped", w.d.maxJob, w.dropped, w.droppedBytes))
		w.marker(w.over, fmt.Sprintf("log cap of %d bytes for all jobs' logs reached, and no finished job's log was left to remove: %d more records (%d bytes) were dropped", w.d.maxTotal, w.over, w.overBytes))
		w.dropped, w.droppedBytes, w.over, w.overBytes = 0, 0, 0, 0
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
	if w.registered {
		w.registered = false
		w.d.mu.Lock()
		if w.d.open[w.jobID]--; w.d.open[w.jobID] <= 0 {
			delete(w.d.open, w.jobID)
		}
		w.d.mu.Unlock()
	}
	return err
}

// marker writes the record that says n records were dropped, if any; the
// caller holds mu.
func (w *Writer) marker(n int64, msg string) {
	if n == 0 {
		return
	}
	if b, err := json.Marshal(Record{Time: time.Now(), Attempt: w.attempt, Level: "warn", Message: msg}); err == nil {
		w.write(b)
	}
}

// Read returns every record of jobID, oldest first; none if it never
// logged. A torn last line (a crash mid-write) is skipped.
func (d *Dir) Read(jobID string) ([]Record, error) {
	f, err := d.reader(jobID, 0)
	if f == nil || err != nil {
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

// Remove deletes the logs of the given jobs (the shared store's copies
// too); missing files are fine.
func (d *Dir) Remove(ids ...string) error {
	first := d.removeShared(ids...)
	for _, id := range ids {
		fi, serr := os.Stat(d.file(id))
		if err := os.Remove(d.file(id)); err != nil {
			if !errors.Is(err, fs.ErrNotExist) && first == nil {
				first = err
			}
			continue
		}
		if serr == nil {
			d.total.Add(-fi.Size())
		}
	}
	return first
}
