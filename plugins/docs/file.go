package docs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/batchhost/batchhost/sdk"
)

// maxInMemory bounds the files whose content a task holds in memory
// (extraction of text formats); larger ones are refused rather than risking
// the plugin process, which the host shares between jobs.
const maxInMemory = 256 << 20

// source is a document opened for reading: a regular file, checked before
// it was opened.
type source struct {
	path string // absolute
	f    *os.File
	info fs.FileInfo
}

func (s *source) Close() error { return s.f.Close() }

// size is the file's size when it was opened.
func (s *source) size() int64 { return s.info.Size() }

// openSource opens path for reading. It stats before opening so that a
// directory, a device or a FIFO (whose open would block) is refused before
// anything touches it. Every refusal is invalid_args naming the path: the
// same path will not work on a retry.
func openSource(path string) (*source, error) {
	if path == "" {
		return nil, sdk.InvalidArgs(errors.New("path is empty: give the document's path"))
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, sdk.InvalidArgs(fmt.Errorf("path %s: %w", path, err))
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, openError(abs, err)
	}
	if err := checkRegular(abs, info); err != nil {
		return nil, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, openError(abs, err)
	}
	return &source{path: abs, f: f, info: info}, nil
}

// checkRegular refuses anything but a regular file, naming what it is.
func checkRegular(path string, info fs.FileInfo) error {
	switch {
	case info.IsDir():
		return sdk.InvalidArgs(fmt.Errorf("%s is a directory, not a file", path))
	case !info.Mode().IsRegular():
		return sdk.InvalidArgs(fmt.Errorf("%s is not a regular file (%s)", path, info.Mode().Type()))
	}
	return nil
}

// openError turns a stat or open failure into a one-line invalid_args
// error that names the path and says what is wrong with it.
func openError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is named below, once
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sdk.InvalidArgs(fmt.Errorf("file %s does not exist", path))
	case errors.Is(err, fs.ErrPermission):
		return sdk.InvalidArgs(fmt.Errorf("file %s is not readable: permission denied", path))
	}
	return sdk.InvalidArgs(fmt.Errorf("cannot open %s: %w", path, err))
}

// progressStep is how many bytes pass between two progress reports: a
// 50 MB file reports about a dozen times, a small one not at all.
const progressStep = 4 << 20

// meterChunk bounds one read through a meter.
const meterChunk = 1 << 20

// meter is a reader that stops when ctx ends and reports progress to job
// every progressStep bytes, as a fraction scaled into [lo, hi] of the task.
type meter struct {
	ctx    context.Context
	job    *sdk.Job
	r      io.Reader
	verb   string // "hashing", "reading", ...
	total  int64
	lo, hi float64

	done int64
	next int64
}

func newMeter(ctx context.Context, job *sdk.Job, r io.Reader, total int64, verb string, lo, hi float64) *meter {
	return &meter{ctx: ctx, job: job, r: r, verb: verb, total: total, lo: lo, hi: hi, next: progressStep}
}

func (m *meter) Read(p []byte) (int, error) {
	if err := m.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) > meterChunk {
		p = p[:meterChunk] // so that ctx and progress are checked often
	}
	n, err := m.r.Read(p)
	m.done += int64(n)
	if m.done >= m.next && m.total >= progressStep {
		for m.next <= m.done {
			m.next += progressStep
		}
		frac := min(float64(m.done)/float64(m.total), 1)
		m.job.Progress(m.lo+(m.hi-m.lo)*frac, fmt.Sprintf("%s %d/%d MiB", m.verb, m.done>>20, m.total>>20))
	}
	return n, err
}

// readAll reads the whole source into memory, reporting progress in
// [lo, hi]. Files over maxInMemory are refused as a permanent error.
func readAll(ctx context.Context, job *sdk.Job, src *source, lo, hi float64) ([]byte, error) {
	if src.size() > maxInMemory {
		return nil, sdk.Permanent(fmt.Errorf("%s is %d MiB; docs reads at most %d MiB of a document", src.path, src.size()>>20, maxInMemory>>20))
	}
	var buf bytes.Buffer
	buf.Grow(int(src.size()) + bytes.MinRead)
	m := newMeter(ctx, job, io.NewSectionReader(src.f, 0, maxInMemory+1), src.size(), "reading", lo, hi)
	if _, err := buf.ReadFrom(m); err != nil {
		return nil, readError(ctx, src.path, err)
	}
	if buf.Len() > maxInMemory { // it grew while we read
		return nil, sdk.Permanent(fmt.Errorf("%s is over %d MiB; docs reads at most %d MiB of a document", src.path, maxInMemory>>20, maxInMemory>>20))
	}
	return buf.Bytes(), nil
}

// readError reports a failure while reading: the ctx's error as is (the
// host tells cancel from timeout itself), anything else as a retryable
// error naming the file, since an I/O error can be transient.
func readError(ctx context.Context, path string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return ctxErr
	}
	return fmt.Errorf("read %s: %w", path, err)
}

// checkPath refuses an empty or relative path in the args field named
// field. A relative path would be taken from the plugin's working
// directory, which is the host's, not the submitter's: it would name
// another file than the one meant, silently.
func checkPath(field, path string) error {
	if path == "" {
		return fmt.Errorf("%s is empty: give an absolute path", field)
	}
	return checkOptionalPath(field, path)
}

// checkOptionalPath is checkPath for a field that may be left out.
func checkOptionalPath(field, path string) error {
	if path != "" && !filepath.IsAbs(path) {
		return fmt.Errorf("%s %q is relative; give an absolute path", field, path)
	}
	return nil
}
