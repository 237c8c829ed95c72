package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// damageID is the n-th id of the damage tests: a lower-case UUID, so that
// it can be a paging cursor, in creation order.
func damageID(n int) string { return fmt.Sprintf("00000000-0000-7000-8000-%012x", n) }

// syncBuffer is a log destination safe for the writer's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// damagedQueueFile writes a queue of 24 jobs (4 completed, 4 running, 16
// queued), then flips 40 bytes inside 8 of their records: 3 queued, 3
// running, 2 completed, 5 bytes each, the first byte of the JSON of half
// of them. It returns the file and the damaged ids.
func damagedQueueFile(t *testing.T) (string, []string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "batchhost.db")
	q, err := OpenQueue(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	var jobs []*model.Job
	for i := range 24 {
		j := qjob(damageID(i), "docs.extract", model.Normal)
		j.Args = []byte(`{"path":"/srv/inbox/letter.pdf","language":"english"}`)
		jobs = append(jobs, j)
	}
	if _, err := q.Insert(ctx, backend.InsertParams{Now: now, Jobs: jobs}); err != nil {
		t.Fatal(err)
	}
	claim := backend.ClaimParams{Owner: "h1", Limit: 8, Now: now, Quota: map[string]int{"docs.extract": 8}}
	claimed, err := q.Claim(ctx, claim)
	if err != nil || len(claimed) != 8 {
		t.Fatalf("claim: %d jobs, %v", len(claimed), err)
	}
	var fs []backend.Finish
	for _, j := range claimed[:4] {
		fs = append(fs, backend.Finish{ID: j.ID, Owner: "h1", Attempt: 1, State: model.Completed})
	}
	if _, err := q.Finish(ctx, fs); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	// Claimed in id order: 0-3 completed, 4-7 running, 8-23 queued.
	damaged := []string{damageID(0), damageID(3), damageID(4), damageID(6), damageID(7), damageID(9), damageID(15), damageID(23)}
	flipInRecords(t, path, bJobs, damaged[:4], 5, true)
	flipInRecords(t, path, bJobs, damaged[4:], 5, false)
	return path, damaged
}

// TestDamagedJobRecordsAreNamedAndLeftAside is the probe of issue 15: 40
// bytes flipped inside job records. The file opens; a read of a damaged
// job names it and says its record is damaged; lists return every other
// job; claims never hand out a damaged job; the open logs the damaged
// running jobs it met.
func TestDamagedJobRecordsAreNamedAndLeftAside(t *testing.T) {
	ctx := context.Background()
	path, damaged := damagedQueueFile(t)
	var log syncBuffer
	q, err := OpenQueue(path, Options{Logger: hclog.New(&hclog.LoggerOptions{Output: &log, Level: hclog.Warn})})
	if err != nil {
		t.Fatalf("open after damage: %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })

	for _, id := range damaged {
		j, err := q.Job(ctx, id)
		if err == nil {
			t.Errorf("job %s read back (%s, args %s) from a damaged record", id, j.State, j.Args)
			continue
		}
		msg := err.Error()
		for _, want := range []string{"job " + id, "damaged", path} {
			if !strings.Contains(msg, want) {
				t.Errorf("job %s: error %q does not say %q", id, msg, want)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("job %s: error is not one line: %q", id, msg)
		}
	}
	// The records whose JSON still decodes are told by their checksum.
	for _, id := range damaged[4:] {
		if _, err := q.Job(ctx, id); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
			t.Errorf("job %s: %v, want a checksum mismatch", id, err)
		}
	}

	var healthy []string
	for i := 23; i >= 0; i-- {
		if !slices.Contains(damaged, damageID(i)) {
			healthy = append(healthy, damageID(i))
		}
	}
	all, next, err := q.ListJobs(ctx, backend.JobFilter{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if got := ids(all); !slices.Equal(got, healthy) || next != "" {
		t.Errorf("list: %v (next %q), want the %d healthy jobs %v", got, next, len(healthy), healthy)
	}
	// Paged, by state (the live index), by task (record filters): the
	// same jobs, no error.
	var paged []string
	for before := ""; ; {
		page, nxt, err := q.ListJobs(ctx, backend.JobFilter{Before: before, Limit: 5})
		if err != nil {
			t.Fatalf("page after %q: %v", before, err)
		}
		paged = append(paged, ids(page)...)
		if nxt == "" {
			break
		}
		before = nxt
	}
	if !slices.Equal(paged, healthy) {
		t.Errorf("pages: %v, want %v", paged, healthy)
	}
	if queued, _, err := q.ListJobs(ctx, backend.JobFilter{States: []model.State{model.Queued}}); err != nil || len(queued) != 13 {
		t.Errorf("list queued: %d jobs, %v; want 13", len(queued), err)
	}

	// The open read the running jobs' records: the damaged ones are not
	// taken as running (they would be rescued and run again) and are
	// logged by id.
	run, err := q.Running(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(run); !slices.Equal(got, []string{damageID(5)}) {
		t.Errorf("running after reopen: %v, want only %s", got, damageID(5))
	}
	for _, id := range []string{damageID(4), damageID(6), damageID(7)} {
		if !strings.Contains(log.String(), id) {
			t.Errorf("the open's log does not name damaged running job %s:\n%s", id, log.String())
		}
	}

	// Claims hand out every healthy queued job and none of the damaged.
	claimed, err := q.Claim(ctx, backend.ClaimParams{Owner: "h2", Limit: 100, Now: time.Unix(2000, 0), Quota: map[string]int{"docs.extract": 100}})
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	var want []string
	for i := 8; i < 24; i++ {
		if !slices.Contains(damaged, damageID(i)) {
			want = append(want, damageID(i))
		}
	}
	got := ids(claimed)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("claimed %v, want %v", got, want)
	}
	// A damaged record is not overwritten: it still fails its check.
	for _, id := range damaged {
		if _, err := q.Job(ctx, id); err == nil {
			t.Errorf("job %s readable after the claims", id)
		}
	}
}

// TestDamagedNeighboursDoNotStopOthers: finishing a job whose dependent,
// and whose group, have damaged records succeeds (the damaged records are
// passed over, not rewritten), so one damaged record cannot fail the
// outcomes of the healthy jobs around it; an operation aimed at the
// damaged job itself is refused with ErrDamaged.
func TestDamagedNeighboursDoNotStopOthers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "batchhost.db")
	q, err := OpenQueue(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	a, b := qjob(damageID(1), "docs.extract", model.Normal), qjob(damageID(2), "docs.extract", model.Normal, damageID(1))
	c := qjob(damageID(3), "docs.extract", model.Normal)
	a.Group, c.Group = "grp", "grp"
	g := &model.Group{ID: "grp", Size: 2, CancelOnFailure: true, Counts: map[model.State]int{}}
	if _, err := q.Insert(ctx, backend.InsertParams{Now: now, Groups: []*model.Group{g}, Jobs: []*model.Job{a, b, c}}); err != nil {
		t.Fatal(err)
	}
	claimed, err := q.Claim(ctx, backend.ClaimParams{Owner: "h1", Limit: 1, Now: now, Quota: map[string]int{"docs.extract": 1}})
	if err != nil || len(claimed) != 1 || claimed[0].ID != a.ID {
		t.Fatalf("claim: %v %v", ids(claimed), err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	flipInRecords(t, path, bJobs, []string{b.ID, c.ID}, 3, false)
	flipInRecords(t, path, bGroups, []string{"grp"}, 3, false)
	q, err = OpenQueue(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })

	// a fails: its dependent b would be canceled, and so would c, its
	// group being cancel-on-failure; both are damaged, and so is the group.
	ch, err := q.Finish(ctx, []backend.Finish{{ID: a.ID, Owner: "h1", Attempt: 1, State: model.Failed,
		Error: &model.JobError{Kind: "task_error", Message: "x"}}})
	if err != nil {
		t.Fatalf("finish next to damaged records: %v", err)
	}
	if len(ch.Jobs) != 1 || ch.Jobs[0].ID != a.ID || ch.Jobs[0].State != model.Failed {
		t.Errorf("changes: %+v", ch.Jobs)
	}
	for _, id := range []string{b.ID, c.ID} {
		if _, err := q.Job(ctx, id); !errors.Is(err, ErrDamaged) {
			t.Errorf("job %s after the cascade: %v, want still damaged", id, err)
		}
		_, err := q.Request(ctx, backend.Request{Kind: backend.RequestCancel, ID: id, Now: now})
		if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), id) {
			t.Errorf("cancel of damaged job %s: %v, want ErrDamaged naming it", id, err)
		}
	}
	if _, err := q.Group(ctx, "grp"); !errors.Is(err, ErrDamaged) {
		t.Errorf("group after the cascade: %v, want still damaged", err)
	}
}
