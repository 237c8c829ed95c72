package store

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// asOldSchema turns the file at path into what batchhost of that schema
// (1 or 2) wrote: job, group and schedule records are their bare JSON,
// without the seal, and the schema key says version.
func asOldSchema(t *testing.T, path string, version int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range recordBuckets {
			b := tx.Bucket(name)
			var keys, vals [][]byte
			if err := b.ForEach(func(k, v []byte) error {
				payload, problem := unseal(k, v)
				if problem != "" {
					t.Fatalf("%s record %s: %s", name, k, problem)
				}
				if !json.Valid(payload) {
					t.Fatalf("%s record %s: not JSON under the seal", name, k)
				}
				keys, vals = append(keys, bytes.Clone(k)), append(vals, bytes.Clone(payload))
				return nil
			}); err != nil {
				return err
			}
			for i := range keys {
				if err := b.Put(keys[i], vals[i]); err != nil {
					return err
				}
			}
		}
		return tx.Bucket(bMeta).Put(schemaKey, []byte(strconv.Itoa(version)))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// recordsOf returns the records of bucket name, by key.
func recordsOf(t *testing.T, s *Store, name []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	if err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(name).ForEach(func(k, v []byte) error {
			out[string(k)] = bytes.Clone(v)
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpenSealsASchema2File opens a file as schema 2 wrote it (records
// without checksums), in several upgrade transactions: every job, group
// and schedule is there, every record is sealed, the schema is 3, and the
// queue works on.
func TestOpenSealsASchema2File(t *testing.T) {
	defer func(n int) { sealBatch = n }(sealBatch)
	sealBatch = 7 // 45 jobs: 7 transactions

	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "batchhost.db")
	q := openTestQueue(t, path)
	now := time.Unix(1000, 0)
	var jobs []*model.Job
	for i := range 45 {
		j := qjob(damageID(i), "docs.extract", model.Normal)
		j.Group = "g"
		jobs = append(jobs, j)
	}
	g := &model.Group{ID: "g", Size: 45, Counts: map[model.State]int{}}
	if _, err := q.Insert(ctx, backend.InsertParams{Now: now, Groups: []*model.Group{g}, Jobs: jobs}); err != nil {
		t.Fatal(err)
	}
	if err := q.PutSchedule(ctx, &model.Schedule{ID: "nightly", Spec: "@daily", NextFire: now.Add(time.Hour),
		Template: model.JobTemplate{Task: "docs.extract"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Claim(ctx, backend.ClaimParams{Owner: "h1", Limit: 3, Now: now, Quota: map[string]int{"docs.extract": 3}}); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, name := range recordBuckets {
		for k, v := range recordsOf(t, q.s, name) {
			before[string(name)+" "+k] = v
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	asOldSchema(t, path, 2)

	q, err := OpenQueue(path, Options{})
	if err != nil {
		t.Fatalf("open of a schema 2 file: %v", err)
	}
	defer q.Close()
	after := map[string][]byte{}
	for _, name := range recordBuckets {
		for k, v := range recordsOf(t, q.s, name) {
			after[string(name)+" "+k] = v
		}
	}
	if len(after) != len(before) || len(before) != 45+1+1 {
		t.Fatalf("%d records after the upgrade, %d before", len(after), len(before))
	}
	for k, v := range before {
		if !bytes.Equal(after[k], v) {
			t.Errorf("record %s: %q after the upgrade, want %q", k, after[k], v)
		}
	}
	var schema, sealing []byte
	_ = q.s.view(func(tx *bolt.Tx) error {
		schema = bytes.Clone(tx.Bucket(bMeta).Get(schemaKey))
		sealing = tx.Bucket(bMeta).Get(sealingKey)
		return nil
	})
	if string(schema) != "3" || sealing != nil {
		t.Errorf("after the upgrade: schema %q, sealing mark %q", schema, sealing)
	}
	all, _, err := q.ListJobs(ctx, backend.JobFilter{Limit: 100})
	if err != nil || len(all) != 45 {
		t.Fatalf("list: %d jobs, %v", len(all), err)
	}
	if run, _ := q.Running(ctx, nil); len(run) != 3 {
		t.Errorf("running after the upgrade: %v", ids(run))
	}
	got, err := q.Claim(ctx, backend.ClaimParams{Owner: "h2", Limit: 100, Now: now, Quota: map[string]int{"docs.extract": 100}})
	if err != nil || len(got) != 42 {
		t.Errorf("claim after the upgrade: %d jobs, %v", len(got), err)
	}
	if sc, err := q.Schedules(ctx); err != nil || len(sc) != 1 {
		t.Errorf("schedules after the upgrade: %v, %v", sc, err)
	}
}

// TestInterruptedSealingGoesOn: an upgrade stopped part-way (some records
// sealed, the mark set, the schema already 3 so that a batchhost of
// schema 2 refuses the file) is finished at the next open.
func TestInterruptedSealingGoesOn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "batchhost.db")
	s := openAt(t, path, Options{})
	putJobs(t, s, newJob(1, model.Queued), newJob(2, model.Completed), newJob(3, model.Queued))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	asOldSchema(t, path, 2)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	// What the first transactions of an upgrade leave: schema 3, the mark,
	// the first record sealed.
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		_ = meta.Put(schemaKey, []byte("3"))
		_ = meta.Put(sealingKey, []byte{1})
		k := []byte(jobID(1))
		return tx.Bucket(bJobs).Put(k, seal(k, tx.Bucket(bJobs).Get(k)))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, Options{})
	for _, n := range []int{1, 2, 3} {
		j, err := s.Job(jobID(n))
		if err != nil {
			t.Errorf("job %d after the upgrade went on: %v", n, err)
		} else if j.ID != jobID(n) {
			t.Errorf("job %d reads as %s", n, j.ID)
		}
	}
	recs := recordsOf(t, s, bJobs)
	for k, v := range recs {
		if _, problem := unseal([]byte(k), v); problem != "" {
			t.Errorf("record %s: %s", k, problem)
		}
	}
	if len(recs) != 3 {
		t.Errorf("%d job records, want 3", len(recs))
	}
}
