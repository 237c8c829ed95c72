package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/internal/testbin"
)

func TestOpenCreatesPrivateFileAndReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "batchhost.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	putJobs(t, s, newJob(1, model.Queued))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("data file mode %v, want 0600", fi.Mode().Perm())
	}
	s = openAt(t, path, Options{})
	snap, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Jobs) != 1 || snap.Jobs[0].ID != jobID(1) || snap.Schema != SchemaVersion {
		t.Errorf("after reopen: %+v", snap)
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []Options{{LockTimeout: -time.Second}, {MaxBatchDelay: -time.Millisecond}} {
		if _, err := Open(filepath.Join(dir, "x.db"), o); !errors.Is(err, ErrInvalid) {
			t.Errorf("Open with %+v: %v, want ErrInvalid", o, err)
		}
	}
	if _, err := Open("", Options{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open of empty path: %v", err)
	}
}

// checkLocked opens path while something else holds it and checks the
// refusal: fast, ErrLocked, naming the directory.
func checkLocked(t *testing.T, path string) {
	t.Helper()
	start := time.Now()
	s, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
	elapsed := time.Since(start)
	if err == nil {
		s.Close()
		t.Fatal("second Open succeeded")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if msg := err.Error(); !strings.Contains(msg, filepath.Dir(path)) || !strings.Contains(msg, "in use") {
		t.Errorf("message %q does not name the dir %s and say it is in use", msg, filepath.Dir(path))
	}
	// Loose bound: the point is "no hang", not speed.
	if elapsed > 10*time.Second {
		t.Errorf("second Open took %v with a 100ms lock timeout", elapsed)
	}
}

func TestOpenLockedInSameProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "batchhost.db")
	first, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkLocked(t, path)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	openAt(t, path, Options{}) // the lock went with the first store
}

func TestOpenLockedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "batchhost.db")
	cmd, stdin, out := helper(t, "hold", path)
	expectLine(t, out, "ready")
	checkLocked(t, path)
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("holder: %v", err)
	}
	openAt(t, path, Options{}) // released when the holder closed
	if d := testbin.Descendants(os.Getpid()); len(d) > 0 {
		t.Errorf("child processes left: %+v", d)
	}
}

// storeFile makes a real store file with some content and returns its path.
func storeFile(t *testing.T, jobs int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "batchhost.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	// Several commits, so the file has a freelist and overwritten pages.
	for c := 0; c < 4; c++ {
		b := NewBatch()
		for i := 0; i < jobs/4; i++ {
			n := c*jobs/4 + i
			st := model.States[n%len(model.States)]
			j := newJob(n, st)
			j.Key = "k" + j.ID
			j.Group = "g1"
			b.PutJob(j)
			b.AddMember("g1", n, j.ID)
			if n > 0 {
				b.AddEdge(jobID(n-1), j.ID, model.DepCancel)
			}
		}
		b.PutGroup(&model.Group{ID: "g1", Size: (c + 1) * jobs / 4})
		if err := s.Commit(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func pageCount(t *testing.T, path string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	_ = db.View(func(tx *bolt.Tx) error { n = int(tx.Size()) / db.Info().PageSize; return nil })
	return n
}

func TestOpenRefusesFilesItCannotUse(t *testing.T) {
	tests := []struct {
		name    string
		make    func(t *testing.T, path string)
		want    error
		mention []string
	}{
		{"random bytes", func(t *testing.T, path string) {
			b := make([]byte, 64<<10)
			rand.New(rand.NewSource(1)).Read(b)
			write(t, path, b)
		}, ErrCorrupt, nil},
		{"text file", func(t *testing.T, path string) {
			write(t, path, []byte("these are my notes, not a database\n"))
		}, ErrCorrupt, nil},
		{"damaged header", func(t *testing.T, path string) {
			b := read(t, storeFile(t, 100))
			for i := 0; i < 2*os.Getpagesize(); i++ {
				b[i] ^= 0x5a
			}
			write(t, path, b)
		}, ErrCorrupt, nil},
		{"empty", func(t *testing.T, path string) {
			write(t, path, nil)
		}, ErrCorrupt, []string{"is empty", "move it away"}},
		{"truncated", func(t *testing.T, path string) {
			src := storeFile(t, 2000)
			n := pageCount(t, src)
			write(t, path, read(t, src)[:(n/2)*os.Getpagesize()])
		}, ErrCorrupt, []string{"truncated"}},
		{"bbolt file of another program", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			_ = db.Update(func(tx *bolt.Tx) error {
				b, _ := tx.CreateBucket([]byte("widgets"))
				return b.Put([]byte("a"), []byte("b"))
			})
			db.Close()
		}, ErrNotBatchhost, []string{"widgets"}},
		{"newer schema", func(t *testing.T, path string) {
			write(t, path, read(t, storeFile(t, 10)))
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			_ = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(schemaKey, []byte("99")) })
			db.Close()
		}, ErrSchemaTooNew, []string{"99", "up to " + strconv.Itoa(SchemaVersion)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "batchhost.db")
			tc.make(t, path)
			before := sha256.Sum256(read(t, path))
			s, err := Open(path, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("Open: %v, want %v", err, tc.want)
			}
			msg := err.Error()
			for _, m := range append([]string{path}, tc.mention...) {
				if !strings.Contains(msg, m) {
					t.Errorf("message %q does not mention %q", msg, m)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("message is not one line: %q", msg)
			}
			if after := sha256.Sum256(read(t, path)); after != before {
				t.Error("Open changed the file")
			}
			// The refused file is not left locked.
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := tryLock(f); err != nil {
				t.Errorf("file still locked after the refusal: %v", err)
			}
		})
	}
}

// TestDamagedPagesGiveErrorsNotPanics damages each page of a real store in
// turn and runs every operation on it: each must return (an error or a
// result); a panic or fault would kill the test binary.
func TestDamagedPagesGiveErrorsNotPanics(t *testing.T) {
	path := storeFile(t, 400)
	pageSize := os.Getpagesize()
	pages := pageCount(t, path)
	// bbolt grows files in large steps; the pages past the high-water mark
	// are unused, so leave them out of the copies.
	src := read(t, path)[:pages*pageSize]
	rng := rand.New(rand.NewSource(7))
	var corrupt, openFailed int
	for p := 2; p < pages; p++ {
		b := bytes.Clone(src)
		rng.Read(b[p*pageSize : (p+1)*pageSize])
		path := writeTemp(t, b)
		errs := exercise(t, path)
		if f, err := os.Open(path); err == nil {
			if err := tryLock(f); err != nil {
				t.Errorf("page %d: file left locked: %v", p, err)
			}
			f.Close()
		}
		if errors.Is(errs[0], ErrCorrupt) && len(errs) == 1 {
			openFailed++
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrFailed) && !errors.Is(err, ErrNotFound) {
				t.Errorf("page %d: unexpected error %v", p, err)
			}
			if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrDamaged) {
				corrupt++
				if !strings.Contains(err.Error(), path) {
					t.Errorf("page %d: %v does not name the file", p, err)
				}
			}
		}
	}
	t.Logf("%d pages damaged: %d refused at Open, %d errors reported as corruption", pages-2, openFailed, corrupt)
	if corrupt == 0 {
		t.Errorf("damaging %d pages one by one was never reported as corruption", pages-2)
	}
}

// exercise opens path and runs every operation once, returning the errors.
func exercise(t *testing.T, path string) []error {
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		return []error{err}
	}
	var errs []error
	note := func(err error) { errs = append(errs, err) }
	_, err = s.Load()
	note(err)
	_, _, err = s.ListJobs(Filter{Limit: MaxLimit})
	note(err)
	_, _, err = s.ListJobs(Filter{States: []model.State{model.Queued}})
	note(err)
	_, _, err = s.ListJobs(Filter{Group: "g1"})
	note(err)
	_, _, err = s.ListGroups("", 0)
	note(err)
	_, err = s.Job(jobID(5))
	note(err)
	_, _, err = s.JobByKey("k" + jobID(5))
	note(err)
	_, err = s.Members("g1")
	note(err)
	_, err = s.Dependents(jobID(5))
	note(err)
	_, err = s.Counts()
	note(err)
	_, err = s.Prune(t0.Add(24*time.Hour), 50)
	note(err)
	b := NewBatch()
	b.PutJob(newJob(100000, model.Queued))
	note(s.Commit(b))
	if err := s.Close(); err != nil {
		note(err)
	}
	return errs
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "batchhost.db")
	write(t, path, b)
	return path
}

// TestDurableByDefault: fsync on commit unless NoSync is asked for, and the
// freelist is written with each commit (see noFreelistSync).
func TestDurableByDefault(t *testing.T) {
	if s := openTest(t, Options{}); s.db.NoSync || s.db.NoFreelistSync {
		t.Errorf("default store: NoSync %v, NoFreelistSync %v", s.db.NoSync, s.db.NoFreelistSync)
	}
	if s := openTest(t, Options{NoSync: true}); !s.db.NoSync {
		t.Error("NoSync option not applied")
	}
}
