package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout this package writes. Open refuses files with
// a newer version. Version 2 adds what the Queue keeps beside the records
// (compact live entries, counts by state and priority): OpenQueue upgrades
// a version 1 file to it, after which a batchhost that knows only version
// 1 (and would write live entries of the old form) refuses the file and
// asks to be upgraded, instead of writing what this one cannot read.
// Version 3 seals every job, group and schedule record with a checksum
// (record.go); Open upgrades an older file to it (sealRecords).
const SchemaVersion = 3

// initialMmapSize is mapped at open so that the writer does not have to
// remap (which waits for every open read transaction) until the file
// outgrows it. It is address space, not memory: pages are read on demand.
const initialMmapSize = 1 << 30

// Options tunes a Store. The zero value is the durable default.
type Options struct {
	// NoSync skips fsync on commit: a crash of the machine (not only of the
	// process) may lose acknowledged writes. Only for benchmarks
	// (`batchhost bench --no-sync`). Defaults to false.
	NoSync bool
	// LockTimeout is how long Open waits for another process to release
	// the file before failing with ErrLocked. Defaults to 100ms: a second
	// host should fail fast, not queue up behind the first.
	LockTimeout time.Duration
	// Logger receives open, failure and inconsistency messages. Defaults to
	// a null logger.
	Logger hclog.Logger
	// Now is the clock, used where a record lacks a time the store needs.
	// Defaults to time.Now.
	Now func() time.Time
	// MaxBatchDelay makes the writer wait this long after the first queued
	// batch before committing, to gather more into one transaction. Defaults
	// to 0: commit as soon as the previous commit finishes, which already
	// groups everything that arrived during it without adding latency.
	MaxBatchDelay time.Duration
}

func (o Options) withDefaults() (Options, error) {
	if o.LockTimeout < 0 {
		return o, newError(ErrInvalid, nil, fmt.Sprintf("store options: negative lock timeout %v", o.LockTimeout))
	}
	if o.MaxBatchDelay < 0 {
		return o, newError(ErrInvalid, nil, fmt.Sprintf("store options: negative max batch delay %v", o.MaxBatchDelay))
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = 100 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// Store is batchhost's bbolt store. Its methods are safe for concurrent use;
// writes go through one writer goroutine (see [Store.Submit]).
type Store struct {
	db   *bolt.DB
	path string
	opts Options
	log  hclog.Logger

	w writer

	jobDecodes atomic.Int64 // full job decodes, for tests of start-up cost

	schema int // the file's schema version at open (SchemaVersion once upgraded)

	damage damageLog
}

// Open opens (creating if absent) the store file at path, taking an
// exclusive lock on it. It refuses, without writing to the file: a file
// locked by another host (ErrLocked), a file that is not bbolt or whose
// header is damaged (ErrCorrupt), a bbolt file batchhost did not make
// (ErrNotBatchhost), and a newer schema (ErrSchemaTooNew). A file of an
// older schema is upgraded (sealRecords).
func Open(path string, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if path == "" {
		return nil, newError(ErrInvalid, nil, "open store: empty path")
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: create data dir: %w", err)
	}
	s := &Store{path: path, opts: opts, log: opts.Logger}
	if err := checkLength(path); err != nil {
		return nil, err
	}

	// bbolt can panic on a damaged page while opening; guard turns that
	// into an error, and file lets us release the lock bbolt then holds.
	var file *os.File
	bo := &bolt.Options{
		Timeout:         opts.LockTimeout,
		NoSync:          opts.NoSync,
		NoFreelistSync:  noFreelistSync,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: initialMmapSize,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		},
	}
	err = guard(path, func() error {
		var err error
		s.db, err = bolt.Open(path, 0o600, bo)
		return err
	})
	if err != nil {
		if s.db == nil && file != nil && errors.Is(err, ErrCorrupt) {
			// bbolt panicked before it could clean up. Its mapping keeps the
			// file open, so release the lock explicitly; the mapping itself
			// is out of reach and stays until the process exits.
			_ = unlock(file)
			_ = file.Close()
		}
		return nil, s.openError(dir, err)
	}
	if err := s.checkSchema(); err != nil {
		_ = s.db.Close()
		return nil, err
	}
	if err := s.sealRecords(); err != nil {
		_ = s.db.Close()
		return nil, fmt.Errorf("open data file %s: upgrade to schema %d: %w", path, SchemaVersion, err)
	}
	s.w.start(s)
	s.log.Debug("opened", "path", path, "schema", SchemaVersion, "no_sync", opts.NoSync)
	return s, nil
}

func (s *Store) openError(dir string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return newError(ErrLocked, nil, fmt.Sprintf(
			"data dir %s is in use by another batchhost host (%s stayed locked for %v); stop that host or choose another data dir",
			dir, s.path, s.opts.LockTimeout))
	case errors.Is(err, ErrCorrupt):
		return err
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch):
		return newError(ErrCorrupt, err, fmt.Sprintf(
			"data file %s is not a batchhost store or is corrupt (%v); it was left unchanged: move it aside to start fresh",
			s.path, err))
	}
	if strings.HasPrefix(err.Error(), "file size too small") { // bbolt's unexported error for a cut file
		return newError(ErrCorrupt, err, fmt.Sprintf(
			"data file %s is truncated (%v); it was left unchanged: move it aside to start fresh", s.path, err))
	}
	return fmt.Errorf("open data file %s: %w", s.path, err)
}

// checkSchema initializes a new (empty) file, or checks that an existing one
// is a batchhost store of a schema this code can use. It writes nothing
// unless the file is new, so a foreign file is never modified.
func (s *Store) checkSchema() error {
	var fresh bool
	var missing [][]byte // buckets added to schema 1 later
	err := s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		if meta == nil {
			c := tx.Cursor()
			if k, _ := c.First(); k != nil {
				return newError(ErrNotBatchhost, nil, fmt.Sprintf(
					"data file %s is a bbolt database but not a batchhost store (it has bucket %q and no %q); it was left unchanged",
					s.path, k, bMeta))
			}
			fresh = true
			return nil
		}
		raw := meta.Get(schemaKey)
		v, err := strconv.Atoi(string(raw))
		if err != nil {
			return newError(ErrCorrupt, err, fmt.Sprintf("data file %s: schema version %q is not a number", s.path, raw))
		}
		if v > SchemaVersion {
			return newError(ErrSchemaTooNew, nil, fmt.Sprintf(
				"data file %s has schema version %d, this batchhost knows up to %d: upgrade batchhost", s.path, v, SchemaVersion))
		}
		if v < 1 {
			return newError(ErrCorrupt, nil, fmt.Sprintf("data file %s: invalid schema version %d", s.path, v))
		}
		s.schema = v
		for _, name := range allBuckets {
			if tx.Bucket(name) != nil {
				continue
			}
			if slices.ContainsFunc(addedBuckets, func(b []byte) bool { return bytes.Equal(b, name) }) {
				missing = append(missing, name)
				continue
			}
			return newError(ErrCorrupt, nil, fmt.Sprintf("data file %s: bucket %q is missing", s.path, name))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !fresh {
		if len(missing) == 0 {
			return nil
		}
		return s.update(func(tx *bolt.Tx) error {
			for _, name := range missing {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return fmt.Errorf("create bucket %s: %w", name, err)
				}
			}
			return nil
		})
	}
	return s.update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		s.schema = SchemaVersion
		return tx.Bucket(bMeta).Put(schemaKey, []byte(strconv.Itoa(SchemaVersion)))
	})
}

// Close commits every batch queued so far, stops the writer and closes the
// file. Writes submitted after Close fail with ErrClosed. Calling Close again
// returns nil.
func (s *Store) Close() error {
	if !s.w.stop() {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close data file %s: %w", s.path, err)
	}
	return nil
}

// Path is the data file's path.
func (s *Store) Path() string { return s.path }

// view runs a read transaction, turning a panic or memory fault inside bbolt
// (a damaged page) into ErrCorrupt.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	err := guard(s.path, func() error { return s.db.View(fn) })
	return s.dbError(err)
}

// update runs a write transaction outside the writer (schema set-up, Prune);
// bbolt serializes it with the writer's.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	err := guard(s.path, func() error { return s.db.Update(fn) })
	return s.dbError(err)
}

func (s *Store) dbError(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return newError(ErrClosed, err, fmt.Sprintf("data file %s: store is closed", s.path))
	}
	return err
}

// guard runs fn, converting a panic (bbolt panics on some damaged pages) and
// a memory fault (a page past the end of a truncated file) into ErrCorrupt
// naming the file, so that a bad file fails the operation, not the host.
func guard(path string, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			err = newError(ErrCorrupt, nil, fmt.Sprintf("data file %s is corrupt: %v; move it aside and restore a backup", path, r))
		}
	}()
	return fn()
}

// noFreelistSync is false: the freelist is written with every commit.
// bbolt's NoFreelistSync would save that write but rebuilds the freelist at
// Open by checking every page of the file, which makes start-up cost follow
// the whole history instead of the live jobs, and which crashes the process
// (a panic in a goroutine bbolt starts, out of reach of any recover) when a
// page is damaged. It is a variable only so that BenchmarkOpen and
// BenchmarkCommitSingle can measure both settings.
var noFreelistSync = false
