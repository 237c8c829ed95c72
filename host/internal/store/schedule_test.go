package store

import (
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

func TestSchedulesPutLoadDelete(t *testing.T) {
	path := t.TempDir() + "/s.db"
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBatch()
	b.PutSchedule(&model.Schedule{ID: "s1", Name: "nightly", Spec: "0 3 * * *", Template: model.JobTemplate{Task: "docs.reindex"}, CreatedAt: time.Now()})
	b.PutSchedule(&model.Schedule{ID: "s2", Name: "sync", Spec: "@every 15m"})
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	b = NewBatch()
	b.DeleteSchedule("s2")
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snap, err := s.Load()
	if err != nil || len(snap.Schedules) != 1 || snap.Schedules[0].Name != "nightly" || snap.Schedules[0].Template.Task != "docs.reindex" {
		t.Fatalf("Load: %+v %v", snap, err)
	}
	bad := NewBatch()
	bad.PutSchedule(&model.Schedule{ID: ""})
	if bad.Err() == nil {
		t.Fatal("empty schedule id accepted")
	}
}
