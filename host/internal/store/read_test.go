package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host/internal/model"
)

// TestLoadReadsOnlyLiveJobs: start-up cost follows the live jobs. With
// 10,000 finished jobs and 10 live ones, Load decodes exactly 10 records.
func TestLoadReadsOnlyLiveJobs(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	commit(t, s, func(b *Batch) {
		for i := 0; i < 10_000; i++ {
			b.PutJob(newJob(i, model.States[5+i%3])) // completed, failed, canceled
		}
		for i := 0; i < 10; i++ {
			b.PutJob(newJob(20_000+i, model.States[i%5])) // created .. paused
		}
		b.PutGroup(&model.Group{ID: "open", Size: 0})
		b.PutGroup(&model.Group{ID: "done", Size: 1, Counts: map[model.State]int{model.Completed: 1}})
	})
	before := s.Stats().JobDecodes
	snap, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if decoded := s.Stats().JobDecodes - before; decoded != 10 {
		t.Errorf("Load decoded %d job records, want 10", decoded)
	}
	if len(snap.Jobs) != 10 {
		t.Fatalf("Load returned %d jobs, want 10", len(snap.Jobs))
	}
	for i, j := range snap.Jobs {
		if j.ID != jobID(20_000+i) || !j.State.Live() {
			t.Errorf("job %d: %s %s", i, j.ID, j.State)
		}
	}
	if len(snap.Groups) != 1 || snap.Groups[0].ID != "open" {
		t.Errorf("groups %+v, want only the open one", snap.Groups)
	}
}

// TestListJobs pages through every kind of filter and compares each page
// with the same query answered by brute force.
func TestListJobs(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	var all []*model.Job
	tasks := []string{"docs.inspect", "docs.extract", "exec.run"}
	commit(t, s, func(b *Batch) {
		for i := 0; i < 537; i++ {
			j := newJob(i, model.States[(i*7)%len(model.States)])
			j.Task = tasks[i%len(tasks)]
			j.Priority = model.Priorities[(i/3)%len(model.Priorities)]
			if i%5 == 0 {
				j.Labels = map[string]string{"team": []string{"red", "blue"}[i%2]}
			}
			if i%11 == 0 {
				j.Error = &model.JobError{Kind: "task_error", Message: fmt.Sprintf("Disk FULL on volume %d", i%3)}
			}
			if i%4 == 0 {
				j.Group = "g"
				// Positions in reverse id order, so group order differs
				// from id order.
				b.AddMember("g", 1000-i, j.ID)
			}
			b.PutJob(j)
			all = append(all, j)
		}
		b.PutGroup(&model.Group{ID: "g"})
		b.PutGroup(&model.Group{ID: "empty"})
	})
	slices.Reverse(all) // newest first

	filters := []Filter{
		{},
		{Limit: 7},
		{Limit: MaxLimit},
		{States: []model.State{model.Queued}, Limit: 10},
		{States: []model.State{model.Queued, model.Running, model.Created}, Limit: 13},
		{States: []model.State{model.Failed}, Limit: 9},
		{States: []model.State{model.Completed, model.Waiting}, Limit: 11},
		{Task: "exec.run", Limit: 50},
		{Task: "exec.run", States: []model.State{model.Paused}, Limit: 5},
		{Task: "no.such"},
		{Group: "g", Limit: 17},
		{Group: "g", States: []model.State{model.Canceled}, Limit: 3},
		{Group: "g", Task: "docs.inspect", States: []model.State{model.Queued, model.Completed}},
		{Group: "empty"},
		{Before: jobID(300), Limit: 40},
		{Before: jobID(300), States: []model.State{model.Waiting}},
		{Priorities: []model.Priority{model.High}, Limit: 19},
		{Priorities: []model.Priority{model.Low, model.Critical}, States: []model.State{model.Queued}, Limit: 4},
		{Priorities: []model.Priority{model.Normal}, Group: "g", Limit: 6},
		{Label: "team=red", Limit: 8},
		{Label: "team", Task: "exec.run", Limit: 5},
		{Label: "team=green"},
		{Search: "disk full on volume 1", Limit: 3},
		{Search: "DOCS.EXT", Limit: 25},
		{Search: jobID(42)[3:]},
		{Search: "volume 2", Priorities: []model.Priority{model.Low}, States: []model.State{model.Failed, model.Queued}},
	}
	for _, f := range filters {
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			var want []string
			for _, j := range all {
				if (f.Before == "" || j.ID < f.Before) &&
					(len(f.States) == 0 || slices.Contains(f.States, j.State)) &&
					(f.Task == "" || j.Task == f.Task) &&
					(f.Group == "" || j.Group == f.Group) &&
					(len(f.Priorities) == 0 || slices.Contains(f.Priorities, j.Priority)) &&
					labelMatches(j, f.Label) && searchMatches(j, f.Search) {
					want = append(want, j.ID)
				}
			}
			limit := f.Limit
			if limit == 0 {
				limit = DefaultLimit
			}
			var got []string
			pages := 0
			for {
				page, next, err := s.ListJobs(f)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(page) > limit {
					t.Fatalf("page of %d, limit %d", len(page), limit)
				}
				for _, j := range page {
					got = append(got, j.ID)
				}
				if next == "" {
					break
				}
				if len(page) != limit || next != page[len(page)-1].ID {
					t.Fatalf("short page (%d) with a next cursor %q", len(page), next)
				}
				f.Before = next
				if pages > 1000 {
					t.Fatal("paging does not end")
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %d ids %v\nwant %d ids %v", len(got), head(got), len(want), head(want))
			}
			if wantPages := max(1, (len(want)+limit-1)/limit); pages != wantPages {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
		})
	}
}

// labelMatches and searchMatches restate the filters' rules by brute force.
func labelMatches(j *model.Job, label string) bool {
	if label == "" {
		return true
	}
	k, v, withValue := strings.Cut(label, "=")
	got, ok := j.Labels[k]
	return ok && (!withValue || got == v)
}

func searchMatches(j *model.Job, q string) bool {
	in := func(s string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(q)) }
	return q == "" || in(j.ID) || in(j.Task) || (j.Error != nil && in(j.Error.Message))
}

func head(ids []string) []string { return ids[:min(len(ids), 5)] }

func TestListRejectsBadFilters(t *testing.T) {
	s := openTest(t, Options{})
	for _, tc := range []struct {
		f    Filter
		want error
		msg  string
	}{
		{Filter{Limit: -1}, ErrInvalid, "negative limit"},
		{Filter{Limit: MaxLimit + 1}, ErrInvalid, "above the maximum 10000"},
		{Filter{States: []model.State{"sleeping"}}, ErrInvalid, `unknown state "sleeping"`},
		{Filter{Group: "missing"}, ErrNotFound, "group missing not found"},
		{Filter{Priorities: []model.Priority{7}}, ErrInvalid, "unknown priority 7"},
		{Filter{Label: "=red"}, ErrInvalid, `label filter "=red" has no key`},
	} {
		_, _, err := s.ListJobs(tc.f)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ListJobs(%+v): %v, want %v mentioning %q", tc.f, err, tc.want, tc.msg)
		}
	}
	if _, _, err := s.ListGroups("", -5); !errors.Is(err, ErrInvalid) {
		t.Errorf("ListGroups with limit -5: %v", err)
	}
	if _, err := s.Job("nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "job nope not found") {
		t.Errorf("Job(nope): %v", err)
	}
	if _, err := s.Group("nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "group nope not found") {
		t.Errorf("Group(nope): %v", err)
	}
}

func TestListGroups(t *testing.T) {
	s := openTest(t, Options{})
	commit(t, s, func(b *Batch) {
		for i := 0; i < 25; i++ {
			b.PutGroup(&model.Group{ID: fmt.Sprintf("g%03d", i), Name: fmt.Sprint(i)})
		}
	})
	var got []string
	before := ""
	for {
		page, next, err := s.ListGroups(before, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range page {
			got = append(got, g.ID)
		}
		if next == "" {
			break
		}
		before = next
	}
	var want []string
	for i := 24; i >= 0; i-- {
		want = append(want, fmt.Sprintf("g%03d", i))
	}
	if !slices.Equal(got, want) {
		t.Errorf("groups %v, want %v", got, want)
	}
	g, err := s.Group("g007")
	if err != nil || g.Name != "7" || g.Counts == nil {
		t.Errorf("Group(g007) = %+v, %v", g, err)
	}
}
