package store

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// prefixIDs share their first 13 characters (made in one millisecond) but
// for the last, which stands apart from its neighbours from the 9th.
var prefixIDs = []string{
	"0190aaaa-0001-7000-8000-000000000001",
	"0190aaaa-0001-7000-8000-000000000002",
	"0190aaaa-0001-7fff-8000-000000000003",
	"0190aaab-0000-7000-8000-000000000004",
}

// checkPrefixLookup runs the prefix cases against one lookup.
func checkPrefixLookup(t *testing.T, lookup func(prefix string, limit int) ([]string, error)) {
	t.Helper()
	for _, c := range []struct {
		prefix string
		limit  int
		want   []string
	}{
		{"0190aaaa-0001-7000", 5, prefixIDs[:2]},          // ambiguous: both
		{"0190aaaa", 5, prefixIDs[:3]},                    // stops before the next key
		{"0190aaaa", 2, prefixIDs[:2]},                    // at most limit
		{"0190aaaa-0001-7f", 5, prefixIDs[2:3]},           // unique
		{"0190aaab", 5, prefixIDs[3:]},                    // the last key
		{prefixIDs[1], 5, prefixIDs[1:2]},                 // a whole id
		{"0190aaa0", 5, nil},                              // none: sorts before all
		{"0190aaac", 5, nil},                              // none: sorts after all
		{"0190aaaa-0001-7000-8000-0000000000019", 5, nil}, // longer than any id
		{"", 5, nil},            // no prefix, no match
		{"0", 0, prefixIDs[:1]}, // limit 0 means 1
	} {
		got, err := lookup(c.prefix, c.limit)
		if err != nil {
			t.Fatalf("prefix %q: %v", c.prefix, err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("prefix %q limit %d: %v, want %v", c.prefix, c.limit, got, c.want)
		}
	}
}

func TestJobAndGroupIDsWithPrefix(t *testing.T) {
	s := openTest(t, Options{})
	commit(t, s, func(b *Batch) {
		for i, id := range prefixIDs {
			j := newJob(i, model.Queued)
			j.ID = id
			b.PutJob(j)
			b.PutGroup(&model.Group{ID: id})
		}
	})
	t.Run("jobs", func(t *testing.T) { checkPrefixLookup(t, s.JobIDsWithPrefix) })
	t.Run("groups", func(t *testing.T) { checkPrefixLookup(t, s.GroupIDsWithPrefix) })
}

func TestQueueIDsWithPrefix(t *testing.T) {
	q := openTestQueue(t, filepath.Join(t.TempDir(), "q.db"))
	p := backend.InsertParams{Now: time.Unix(1000, 0)}
	for _, id := range prefixIDs {
		p.Jobs = append(p.Jobs, qjob(id, "t", model.Normal))
		p.Groups = append(p.Groups, &model.Group{ID: id})
	}
	if _, err := q.Insert(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	t.Run("jobs", func(t *testing.T) { checkPrefixLookup(t, q.JobIDsWithPrefix) })
	t.Run("groups", func(t *testing.T) { checkPrefixLookup(t, q.GroupIDsWithPrefix) })
}
