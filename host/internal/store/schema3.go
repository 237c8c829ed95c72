package store

import (
	"bytes"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// sealingKey in meta marks an upgrade to schema 3 that has begun and not
// ended: the next open goes on with it.
var sealingKey = []byte("sealing")

// sealBatch bounds the records one upgrade transaction rewrites, so that
// the upgrade of a big file does not build one transaction of its size.
// A variable for tests.
var sealBatch = 5000

// recordBuckets hold the sealed records (schema 3).
var recordBuckets = [][]byte{bJobs, bGroups, bSchedules}

// sealRecords upgrades a file of schema 1 or 2 to schema 3: it seals every
// job, group and schedule record with its checksum, sealBatch records a
// transaction. The first transaction sets the schema to 3 and marks the
// upgrade begun, so that an older batchhost refuses the file from then on
// and an interrupted upgrade goes on at the next open; records already
// sealed are left as they are. A record's bytes are sealed as they are: one
// already broken is then found (its JSON does not decode) by reads and by
// `batchhost check`, as in any schema 3 file.
func (s *Store) sealRecords() error {
	var begun bool
	if err := s.view(func(tx *bolt.Tx) error {
		begun = tx.Bucket(bMeta).Get(sealingKey) != nil
		return nil
	}); err != nil {
		return err
	}
	if s.schema >= 3 && !begun {
		return nil
	}
	if err := s.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		if err := meta.Put(sealingKey, []byte{1}); err != nil {
			return err
		}
		return meta.Put(schemaKey, []byte(strconv.Itoa(SchemaVersion)))
	}); err != nil {
		return err
	}
	n := 0
	for _, name := range recordBuckets {
		var after []byte // the last key sealed; nil: start at the first
		for {
			var done bool
			err := s.update(func(tx *bolt.Tx) error {
				var m int
				var err error
				after, m, done, err = sealFrom(tx.Bucket(name), after)
				n += m
				return err
			})
			if err != nil {
				return err
			}
			if done {
				break
			}
		}
	}
	if err := s.update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Delete(sealingKey) }); err != nil {
		return err
	}
	s.log.Info("upgraded data file: records sealed with checksums", "path", s.path,
		"from_schema", s.schema, "schema", SchemaVersion, "records", n)
	s.schema = SchemaVersion
	return nil
}

// sealFrom seals up to sealBatch unsealed records of b after key after,
// and returns the last key it looked at, how many it sealed, and whether
// it reached the end of b. It reads first and writes after: bbolt's
// cursors are not valid across a Put.
func sealFrom(b *bolt.Bucket, after []byte) (last []byte, sealedN int, done bool, err error) {
	type rec struct{ k, v []byte }
	var todo []rec
	c := b.Cursor()
	k, v := c.First()
	if after != nil {
		if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
			k, v = c.Next()
		}
	}
	looked := 0
	for ; k != nil && looked < sealBatch; k, v = c.Next() {
		looked++
		last = bytes.Clone(k)
		if v == nil || sealed(v) {
			continue // a nested bucket (none are made), or sealed already
		}
		todo = append(todo, rec{last, seal(k, v)})
	}
	for _, r := range todo {
		if err := b.Put(r.k, r.v); err != nil {
			return nil, 0, false, fmt.Errorf("seal record %q: %w", r.k, err)
		}
	}
	return last, len(todo), k == nil, nil
}
