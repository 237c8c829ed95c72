package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/batchhost/batchhost/host/internal/model"
)

// Problem is one damaged record or index entry that Check found.
type Problem struct {
	Bucket  string // "jobs", "groups", "schedules", or the index: "live", "keys", "open", "meta"
	Key     []byte // the record's key: a job, group or schedule id, or an index key
	Problem string // what is wrong, e.g. "checksum mismatch"
}

// CheckReport is what Check found.
type CheckReport struct {
	Path   string
	Schema int // the file's schema version
	// Records checked, by bucket ("jobs", "groups", "schedules").
	Records  map[string]int
	Problems []Problem
}

// Check reads every job, group and schedule record of the data file at
// path and the index entries that name records, and reports each that is
// damaged: a record that fails its checksum or does not decode, one that
// holds another id than its key, an index entry naming a record that is
// not there. It opens the file read-only (bbolt's shared lock, so it
// fails with ErrLocked while a host holds the file) and never writes to
// it. The index checks are point lookups per entry; the finished-jobs and
// membership indexes, which reads and pruning already tolerate stale
// entries in, are not checked.
func Check(path string, lockTimeout time.Duration) (*CheckReport, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("check: data file %s does not exist", path)
		}
		return nil, fmt.Errorf("check: %w", err)
	}
	if err := checkLength(path); err != nil {
		return nil, err
	}
	if lockTimeout <= 0 {
		lockTimeout = 100 * time.Millisecond
	}
	s := &Store{path: path}
	err := guard(path, func() error {
		var err error
		s.db, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
		return err
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, newError(ErrLocked, nil, fmt.Sprintf(
			"data file %s is in use by a running batchhost host: stop it (batchhost serve, or the application that embeds it), then check again", path))
	}
	if err != nil {
		s.opts.LockTimeout = lockTimeout
		return nil, s.openError(path, err)
	}
	defer s.db.Close()
	r := &CheckReport{Path: path, Records: map[string]int{}}
	err = s.view(func(tx *bolt.Tx) error { return r.walk(s, tx) })
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (r *CheckReport) add(bucket []byte, key []byte, problem string) {
	r.Problems = append(r.Problems, Problem{Bucket: string(bucket), Key: bytes.Clone(key), Problem: problem})
}

// walk checks everything inside one read transaction.
func (r *CheckReport) walk(s *Store, tx *bolt.Tx) error {
	meta := tx.Bucket(bMeta)
	if meta == nil {
		return newError(ErrNotBatchhost, nil, fmt.Sprintf("data file %s is not a batchhost store (it has no %q bucket)", s.path, bMeta))
	}
	raw := meta.Get(schemaKey)
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 1 {
		return newError(ErrCorrupt, err, fmt.Sprintf("data file %s: schema version %q is not a version", s.path, raw))
	}
	if v > SchemaVersion {
		return newError(ErrSchemaTooNew, nil, fmt.Sprintf(
			"data file %s has schema version %d, this batchhost knows up to %d: upgrade batchhost", s.path, v, SchemaVersion))
	}
	r.Schema = v
	// Before schema 3, or while the upgrade to it is part-way, a record
	// may be bare JSON; only its JSON can be checked then.
	bare := v < 3 || meta.Get(sealingKey) != nil
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil && !slices.ContainsFunc(addedBuckets, func(b []byte) bool { return bytes.Equal(b, name) }) {
			r.add(name, nil, "bucket is missing")
		}
	}

	check := func(name []byte, decode func(payload []byte) (string, error)) {
		b := tx.Bucket(name)
		if b == nil {
			return
		}
		c := b.Cursor()
		for k, val := c.First(); k != nil; k, val = c.Next() {
			r.Records[string(name)]++
			if val == nil {
				r.add(name, k, "not a record (a nested bucket)")
				continue
			}
			payload := val
			if !bare || sealed(val) {
				var problem string
				if payload, problem = unseal(k, val); problem != "" {
					r.add(name, k, problem)
					continue
				}
			}
			id, err := decode(payload)
			switch {
			case err != nil:
				r.add(name, k, problemUndecoded+": "+err.Error())
			case id != string(k):
				r.add(name, k, fmt.Sprintf("%s (%q)", problemWrongID, id))
			}
		}
	}
	check(bJobs, func(p []byte) (string, error) {
		var j model.Job
		err := json.Unmarshal(p, &j)
		return j.ID, err
	})
	check(bGroups, func(p []byte) (string, error) {
		var g model.Group
		err := json.Unmarshal(p, &g)
		return g.ID, err
	})
	check(bSchedules, func(p []byte) (string, error) {
		var sc model.Schedule
		err := json.Unmarshal(p, &sc)
		return sc.ID, err
	})

	// Index entries that name a record: a job the live index or a key
	// names, a group the open index names, must be stored.
	refs := func(index, records []byte, what string, target func(k, v []byte) []byte) {
		ib, rb := tx.Bucket(index), tx.Bucket(records)
		if ib == nil || rb == nil {
			return
		}
		c := ib.Cursor()
		for k, val := c.First(); k != nil; k, val = c.Next() {
			if t := target(k, val); rb.Get(t) == nil {
				r.add(index, k, fmt.Sprintf("names %s %s, which is not stored", what, t))
			}
		}
	}
	refs(bLive, bJobs, "job", func(k, _ []byte) []byte { return k })
	refs(bKeys, bJobs, "job", func(_, v []byte) []byte { return v })
	refs(bOpen, bGroups, "group", func(k, _ []byte) []byte { return k })
	if v >= 2 {
		if _, ok := decodeCountsP(meta.Get(countsPKey)); !ok {
			r.add(bMeta, countsPKey, "job counts record is missing or damaged")
		}
	}
	return nil
}
