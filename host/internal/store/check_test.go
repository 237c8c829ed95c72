package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

func problemsOf(r *CheckReport) []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, fmt.Sprintf("%s %s: %s", p.Bucket, p.Key, p.Problem))
	}
	slices.Sort(out)
	return out
}

// TestCheckFindsEachKindOfDamage damages one record or entry of each kind
// Check knows, through bbolt as a stray write would, and expects exactly
// those, with the file's bytes unchanged by the check.
func TestCheckFindsEachKindOfDamage(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "batchhost.db")
	q, err := OpenQueue(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var jobs []*model.Job
	for i := range 6 {
		j := qjob(damageID(i), "docs.extract", model.Normal)
		j.Group = "grp"
		jobs = append(jobs, j)
	}
	jobs[5].Key = "invoice-7"
	g := &model.Group{ID: "grp", Size: 6, Counts: map[model.State]int{}}
	if _, err := q.Insert(ctx, backend.InsertParams{Now: time.Unix(1000, 0), Groups: []*model.Group{g}, Jobs: jobs}); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Check(path, 0)
	if err != nil || len(r.Problems) != 0 || r.Records["jobs"] != 6 || r.Records["groups"] != 1 || r.Schema != SchemaVersion {
		t.Fatalf("check of a sound file: %+v, %v", r, err)
	}

	flipInRecords(t, path, bJobs, []string{damageID(0)}, 3, false)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		jb := tx.Bucket(bJobs)
		// Job 1's record holds job 2's JSON, sealed under 1: a bug, not a disk.
		j2, _ := unseal([]byte(damageID(2)), jb.Get([]byte(damageID(2))))
		if err := jb.Put([]byte(damageID(1)), seal([]byte(damageID(1)), j2)); err != nil {
			return err
		}
		// Job 3's record is sealed but not JSON.
		if err := jb.Put([]byte(damageID(3)), seal([]byte(damageID(3)), []byte("{\"id\":"))); err != nil {
			return err
		}
		// Job 5 is gone, its live entry and key left behind.
		if err := jb.Delete([]byte(damageID(5))); err != nil {
			return err
		}
		// The group is gone, its open entry left behind.
		return tx.Bucket(bGroups).Delete([]byte("grp"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	before := sha256.Sum256(read(t, path))
	r, err = Check(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"jobs " + damageID(0) + ": checksum mismatch",
		"jobs " + damageID(1) + ": record holds another id (\"" + damageID(2) + "\")",
		"jobs " + damageID(3) + ": JSON does not decode: unexpected end of JSON input",
		"keys invoice-7: names job " + damageID(5) + ", which is not stored",
		"live " + damageID(5) + ": names job " + damageID(5) + ", which is not stored",
		"open grp: names group grp, which is not stored",
	}
	if got := problemsOf(r); !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sha256.Sum256(read(t, path)) != before {
		t.Error("Check changed the file")
	}
}

// TestCheckRefusesAFileInUse: while a host holds the file, Check fails at
// once with ErrLocked, saying what to do.
func TestCheckRefusesAFileInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "batchhost.db")
	openTestQueue(t, path)
	_, err := Check(path, 50*time.Millisecond)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "stop it") || !strings.Contains(err.Error(), path) {
		t.Errorf("check of a file in use: %v", err)
	}
}

// TestCheckReadsOlderSchemas: a schema 2 file (records without checksums)
// checks clean, its JSON still checked.
func TestCheckReadsOlderSchemas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "batchhost.db")
	q, err := OpenQueue(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Insert(context.Background(), backend.InsertParams{Now: time.Unix(1000, 0),
		Jobs: []*model.Job{qjob(damageID(1), "t", model.Normal), qjob(damageID(2), "t", model.Normal)}}); err != nil {
		t.Fatal(err)
	}
	q.Close()
	asOldSchema(t, path, 2)
	flipInRecords(t, path, bJobs, []string{damageID(2)}, 1, true)
	r, err := Check(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := problemsOf(r); r.Schema != 2 || len(got) != 1 || !strings.HasPrefix(got[0], "jobs "+damageID(2)+": JSON does not decode") {
		t.Errorf("check of a schema 2 file: schema %d, %v", r.Schema, got)
	}
}
