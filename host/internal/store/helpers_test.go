package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/batchhost/batchhost/host/internal/model"
)

// t0 is the tests' fixed epoch.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// openTest opens a fresh store in a temporary directory and closes it when
// the test ends.
func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "batchhost.db"), opts)
}

func openAt(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// jobID returns the n-th test id. Like UUIDv7 ids, later ids sort higher.
func jobID(n int) string { return fmt.Sprintf("j%08d", n) }

// newJob returns a job in state st; terminal jobs finish at t0 + n seconds.
func newJob(n int, st model.State) *model.Job {
	j := &model.Job{
		ID:          jobID(n),
		Task:        "chaos.noop",
		Args:        json.RawMessage(`{"n":1}`),
		State:       st,
		MaxAttempts: 3,
		Backoff:     model.Backoff{Initial: time.Second, Max: 5 * time.Minute, Multiplier: 2, Jitter: 0.2},
		CreatedAt:   t0.Add(time.Duration(n) * time.Millisecond),
	}
	if st.Terminal() {
		j.FinishedAt = t0.Add(time.Duration(n) * time.Second)
	}
	return j
}

func commit(t testing.TB, s *Store, fill func(b *Batch)) {
	t.Helper()
	b := NewBatch()
	fill(b)
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
}

func putJobs(t testing.TB, s *Store, jobs ...*model.Job) {
	t.Helper()
	commit(t, s, func(b *Batch) {
		for _, j := range jobs {
			b.PutJob(j)
		}
	})
}

// checkIndexes recomputes every index from the records and compares it with
// what the store maintains incrementally.
func checkIndexes(t testing.TB, s *Store) {
	t.Helper()
	err := s.view(func(tx *bolt.Tx) error {
		bk := openBuckets(tx)
		var recount counts
		wantLive := map[string]string{}
		wantFinished := map[string]bool{}
		keyOwners := map[string][]string{}
		err := bk.jobs.ForEach(func(k, v []byte) error {
			var j model.Job
			payload, problem := unseal(k, v)
			if problem != "" {
				return fmt.Errorf("job record %s: %s", k, problem)
			}
			if err := json.Unmarshal(payload, &j); err != nil {
				return err
			}
			if j.ID != string(k) {
				t.Errorf("record under %s has id %s", k, j.ID)
			}
			recount.add(j.State, 1)
			if j.State.Live() {
				wantLive[j.ID] = string(j.State)
			} else {
				wantFinished[string(finishedKey(j.FinishedAt, j.ID))] = true
			}
			if j.Key != "" {
				keyOwners[j.Key] = append(keyOwners[j.Key], j.ID)
			}
			return nil
		})
		if err != nil {
			return err
		}
		gotLive := map[string]string{}
		_ = bk.live.ForEach(func(k, v []byte) error { gotLive[string(k)] = string(v); return nil })
		if d := cmp.Diff(wantLive, gotLive); d != "" {
			t.Errorf("live index (-want +got):\n%s", d)
		}
		gotFinished := map[string]bool{}
		_ = bk.finished.ForEach(func(k, _ []byte) error { gotFinished[string(k)] = true; return nil })
		if d := cmp.Diff(wantFinished, gotFinished); d != "" {
			t.Errorf("finished index (-want +got):\n%s", d)
		}
		gotKeys := map[string]string{}
		_ = bk.keys.ForEach(func(k, v []byte) error { gotKeys[string(k)] = string(v); return nil })
		for key, owners := range keyOwners {
			if !slices.Contains(owners, gotKeys[key]) {
				t.Errorf("key %q maps to %q, want one of %v", key, gotKeys[key], owners)
			}
		}
		for key, id := range gotKeys {
			if _, ok := keyOwners[key]; !ok {
				t.Errorf("key %q maps to %s, which holds no such key", key, id)
			}
		}
		stored, err := decodeCounts(bk.meta.Get(countsKey))
		if err != nil {
			return err
		}
		if stored != recount {
			t.Errorf("counts record %v, recount %v", stored.toMap(), recount.toMap())
		}
		// Membership: members and member_of are inverse maps.
		_ = bk.members.ForEach(func(k, v []byte) error {
			if got := bk.memberOf.Get(v); !bytes.Equal(got, k) {
				t.Errorf("member %s at %q, member_of says %q", v, k, got)
			}
			return nil
		})
		_ = bk.memberOf.ForEach(func(k, v []byte) error {
			if got := bk.members.Get(v); !bytes.Equal(got, k) {
				t.Errorf("member_of %s says %q, members has %q", k, v, got)
			}
			return nil
		})
		// Open groups: exactly those not done.
		return bk.groups.ForEach(func(k, v []byte) error {
			var g model.Group
			payload, problem := unseal(k, v)
			if problem != "" {
				return fmt.Errorf("group record %s: %s", k, problem)
			}
			if err := json.Unmarshal(payload, &g); err != nil {
				return err
			}
			if open := bk.open.Get(k) != nil; open == g.Done() {
				t.Errorf("group %s: done %v, in open index %v", k, g.Done(), open)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}
