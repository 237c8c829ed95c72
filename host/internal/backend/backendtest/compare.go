package backendtest

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// cmpOpts compare records as a user sees them: times by instant (a store
// may give them back in another location), JSON by value (a store may
// re-encode it), nil and empty alike, and zero counts as absent.
var cmpOpts = cmp.Options{
	cmp.FilterPath(func(p cmp.Path) bool { return p.Last().Type() != rawJSON }, cmpopts.EquateEmpty()),
	cmp.Comparer(sameJSON),
	cmpopts.IgnoreMapEntries(func(_ model.State, n int) bool { return n == 0 }),
	cmpopts.IgnoreMapEntries(func(_ model.Priority, n int) bool { return n == 0 }),
}

var rawJSON = reflect.TypeFor[json.RawMessage]()

func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// Dump is everything a store holds, read through the port.
type Dump struct {
	Jobs      []*model.Job // newest first
	Groups    []*model.Group
	Members   map[string][]string
	Counts    backend.Counts
	Schedules []*model.Schedule
}

// dump reads the whole store through its paged reads (in small pages, so
// that the cursors are exercised).
func dump(t testing.TB, s backend.Store) Dump {
	t.Helper()
	ctx := context.Background()
	var d Dump
	for cur := ""; ; {
		js, next, err := s.ListJobs(ctx, backend.JobFilter{Before: cur, Limit: 37})
		if err != nil {
			t.Fatalf("ListJobs(before %q): %v", cur, err)
		}
		d.Jobs = append(d.Jobs, js...)
		if next == "" {
			break
		}
		if cur != "" && next >= cur {
			t.Fatalf("ListJobs(before %s) answered the cursor %s, which is not older: paging would never end", cur, next)
		}
		cur = next
	}
	d.Members = map[string][]string{}
	for cur := ""; ; {
		gs, next, err := s.ListGroups(ctx, cur, 23)
		if err != nil {
			t.Fatalf("ListGroups(before %q): %v", cur, err)
		}
		for _, g := range gs {
			ms, err := s.Members(ctx, g.ID)
			if err != nil {
				t.Fatalf("Members(%s): %v", g.ID, err)
			}
			d.Members[g.ID] = ms
		}
		d.Groups = append(d.Groups, gs...)
		if next == "" {
			break
		}
		if cur != "" && next >= cur {
			t.Fatalf("ListGroups(before %s) answered the cursor %s, which is not older: paging would never end", cur, next)
		}
		cur = next
	}
	counts, err := s.Counts(ctx)
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	// A store may list every state and priority, with zeros.
	d.Counts = backend.Counts{}
	for st, byp := range counts {
		for p, n := range byp {
			if n != 0 {
				if d.Counts[st] == nil {
					d.Counts[st] = map[model.Priority]int{}
				}
				d.Counts[st][p] = n
			}
		}
	}
	if d.Schedules, err = s.Schedules(ctx); err != nil {
		t.Fatalf("Schedules: %v", err)
	}
	slices.SortFunc(d.Schedules, func(a, b *model.Schedule) int { return strings.Compare(a.ID, b.ID) })
	return d
}

func diffDumps(want, got Dump) string {
	return diff(want, got)
}

// diff compares two values as the suite does. Equal JSON encodings are
// equal records, which spares the reflective comparison in the common
// case; any other pair is compared by cmp.
func diff(want, got any) string {
	if a, err := json.Marshal(want); err == nil {
		if b, err := json.Marshal(got); err == nil && bytes.Equal(a, b) {
			return ""
		}
	}
	return cmp.Diff(want, got, cmpOpts)
}
