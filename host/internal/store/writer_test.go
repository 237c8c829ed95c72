package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/internal/testbin"
)

// TestGroupCommit holds the writer inside one batch's callback while more
// batches queue up, and checks that they then go into one transaction, in
// order, with the later put of a job winning.
func TestGroupCommit(t *testing.T) {
	s := openTest(t, Options{})
	release := make(chan struct{})
	holding := make(chan struct{})
	first := NewBatch()
	first.PutJob(newJob(0, model.Queued))
	first.OnCommit(func(err error) {
		close(holding)
		<-release
	})
	s.Submit(first)
	<-holding

	var mu sync.Mutex
	var order []int
	done := make(chan struct{})
	const n = 10
	for i := 1; i <= n; i++ {
		b := NewBatch()
		// Every batch rewrites job 1; the last version must win.
		j := newJob(1, model.Running)
		j.Attempt = i
		b.PutJob(j)
		b.PutJob(newJob(100+i, model.Queued))
		b.OnCommit(func(err error) {
			if err != nil {
				t.Errorf("batch %d: %v", i, err)
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			if i == n {
				close(done)
			}
		})
		s.Submit(b)
	}
	close(release)
	<-done

	for i, got := range order {
		if got != i+1 {
			t.Fatalf("callbacks ran in order %v", order)
		}
	}
	st := s.Stats()
	if st.Transactions != 2 || st.Batches != n+1 {
		t.Errorf("stats %+v, want 2 transactions for %d batches", st, n+1)
	}
	// Job 1 was put ten times but written once.
	if st.Jobs != 1+1+n {
		t.Errorf("wrote %d job records, want %d", st.Jobs, 2+n)
	}
	j, err := s.Job(jobID(1))
	if err != nil {
		t.Fatal(err)
	}
	if j.Attempt != n {
		t.Errorf("job 1 has attempt %d, want the last put's %d", j.Attempt, n)
	}
	c, _ := s.Counts()
	if c[model.Running] != 1 || c[model.Queued] != 1+n {
		t.Errorf("counts %v", c)
	}
	checkIndexes(t, s)
}

// TestCallbackOrder mixes writing, empty and refused batches: callbacks run
// in Submit order, an empty batch's after the batches before it are
// durable, and a refused batch fails alone without writing anything.
func TestCallbackOrder(t *testing.T) {
	s := openTest(t, Options{})
	var mu sync.Mutex
	var got []string
	record := func(name string) func(error) {
		return func(err error) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, fmt.Sprintf("%s:%v", name, errors.Is(err, ErrInvalid)))
			// An empty batch is a barrier: what was submitted before it is
			// visible (committed) when its callback runs.
			if name == "empty2" {
				if _, err := s.Job(jobID(2)); err != nil {
					t.Errorf("empty2 ran before job 2 was committed: %v", err)
				}
			}
		}
	}
	batches := []*Batch{NewBatch(), NewBatch(), NewBatch(), NewBatch(), NewBatch()}
	batches[0].PutJob(newJob(1, model.Queued))
	batches[0].OnCommit(record("write1"))
	batches[1].OnCommit(record("empty1"))
	batches[2].PutJob(newJob(3, model.Queued))
	batches[2].PutJob(&model.Job{ID: "bad\x00id", State: model.Queued})
	batches[2].OnCommit(record("refused"))
	batches[3].PutJob(newJob(2, model.Queued))
	batches[3].OnCommit(record("write2"))
	batches[4].OnCommit(record("empty2"))
	for i, b := range batches {
		if b.Empty() != (i == 1 || i == 4) {
			t.Errorf("batch %d: Empty() = %v", i, b.Empty())
		}
		s.Submit(b)
	}
	if err := s.Commit(NewBatch()); err != nil {
		t.Fatal(err)
	}
	want := []string{"write1:false", "empty1:false", "refused:true", "write2:false", "empty2:false"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("callbacks %v, want %v", got, want)
	}
	if _, err := s.Job(jobID(3)); !errors.Is(err, ErrNotFound) {
		t.Errorf("job 3 of the refused batch: %v, want ErrNotFound", err)
	}
	checkIndexes(t, s)
}

func TestBatchRefusesBadInput(t *testing.T) {
	long := strings.Repeat("x", maxIDLen+1)
	tests := []struct {
		name string
		fill func(b *Batch)
		want string
	}{
		{"nil job", func(b *Batch) { b.PutJob(nil) }, "nil job"},
		{"empty job id", func(b *Batch) { b.PutJob(&model.Job{State: model.Queued}) }, "empty job id"},
		{"long job id", func(b *Batch) { b.PutJob(&model.Job{ID: long, State: model.Queued}) }, "limit is 256"},
		{"no state", func(b *Batch) { b.PutJob(&model.Job{ID: "a"}) }, "empty state"},
		{"bad state", func(b *Batch) { b.PutJob(&model.Job{ID: "a", State: "dozing"}) }, `unknown state "dozing"`},
		{"huge key", func(b *Batch) {
			b.PutJob(&model.Job{ID: "a", State: model.Queued, Key: strings.Repeat("k", maxKeyLen+1)})
		}, "idempotency key"},
		{"unencodable", func(b *Batch) { b.PutJob(&model.Job{ID: "a", State: model.Queued, Priority: 9}) }, "invalid priority"},
		{"nil group", func(b *Batch) { b.PutGroup(nil) }, "nil group"},
		{"empty group id", func(b *Batch) { b.PutGroup(&model.Group{}) }, "empty group id"},
		{"member position", func(b *Batch) { b.AddMember("g", -1, "a") }, "negative position"},
		{"member job", func(b *Batch) { b.AddMember("g", 0, "") }, "empty job id"},
		{"edge policy", func(b *Batch) { b.AddEdge("a", "b", "shrug") }, `unknown policy "shrug"`},
		{"edge dep", func(b *Batch) { b.AddEdge("a\x00", "b", model.DepCancel) }, "NUL"},
	}
	s := openTest(t, Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBatch()
			b.PutJob(newJob(1, model.Queued)) // a good write in the same batch
			tc.fill(b)
			if b.Err() == nil || !strings.Contains(b.Err().Error(), tc.want) {
				t.Fatalf("Err() = %v, want it to mention %q", b.Err(), tc.want)
			}
			if strings.Contains(b.Err().Error(), "\n") {
				t.Errorf("multi-line error %q", b.Err())
			}
			if err := s.Commit(b); !errors.Is(err, ErrInvalid) {
				t.Errorf("Commit: %v, want ErrInvalid", err)
			}
			if _, err := s.Job(jobID(1)); !errors.Is(err, ErrNotFound) {
				t.Errorf("refused batch wrote job 1: %v", err)
			}
		})
	}
	// Refused batches do not fail the store.
	putJobs(t, s, newJob(2, model.Queued))
}

// TestFailedCommitFailsTheStore makes a real commit fail (the file may not
// grow) and checks that the batch gets the error, every later write gets
// ErrFailed, and nothing committed before is lost.
func TestFailedCommitFailsTheStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "batchhost.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	putJobs(t, s, newJob(1, model.Queued))
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	s.db.MaxSize = int(info.Size()) // no growth allowed from here on

	// bbolt grows the file in steps of 16 MiB; this needs more.
	big := NewBatch()
	args := json.RawMessage(`"` + strings.Repeat("a", 4096) + `"`)
	for i := 0; i < 8000; i++ {
		j := newJob(1000+i, model.Queued)
		j.Args = args
		big.PutJob(j)
	}
	err = s.Commit(big)
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "maximum size") {
		t.Fatalf("oversized commit: %v, want ErrFailed wrapping the cause", err)
	}
	later := NewBatch()
	later.PutJob(newJob(2, model.Queued))
	if err := s.Commit(later); !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "maximum size") {
		t.Errorf("write after the failure: %v, want ErrFailed with the cause", err)
	}
	if err := s.Commit(NewBatch()); !errors.Is(err, ErrFailed) {
		t.Errorf("empty batch after the failure: %v, want ErrFailed", err)
	}
	if _, err := s.Prune(t0, 10); !errors.Is(err, ErrFailed) {
		t.Errorf("prune after the failure: %v, want ErrFailed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path, Options{})
	snap, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Jobs) != 1 || snap.Jobs[0].ID != jobID(1) {
		t.Errorf("after reopen: %d jobs, want just job 1", len(snap.Jobs))
	}
	checkIndexes(t, s)
}

func TestCloseCommitsWhatIsQueued(t *testing.T) {
	path := filepath.Join(t.TempDir(), "batchhost.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		b := NewBatch()
		b.PutJob(newJob(i, model.Queued))
		wg.Add(1)
		b.OnCommit(func(err error) { errs <- err; wg.Done() })
		s.Submit(b)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("queued batch: %v", err)
		}
	}

	// After Close: writes and reads say the store is closed.
	b := NewBatch()
	b.PutJob(newJob(999, model.Queued))
	if err := s.Commit(b); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Job(jobID(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Job after Close: %v, want ErrClosed", err)
	}

	s = openAt(t, path, Options{})
	snap, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Jobs) != 200 {
		t.Errorf("%d jobs after reopen, want 200", len(snap.Jobs))
	}
}

// TestSubmitFromCallbackDoesNotDeadlock: a callback that submits more
// batches than the backpressure limit must not block the writer on itself.
func TestSubmitFromCallbackDoesNotDeadlock(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	done := make(chan struct{})
	first := NewBatch()
	first.PutJob(newJob(0, model.Queued))
	first.OnCommit(func(error) {
		for i := 1; i <= maxPendingBatches+10; i++ {
			b := NewBatch()
			b.PutJob(newJob(i, model.Queued))
			if i == maxPendingBatches+10 {
				b.OnCommit(func(error) { close(done) })
			}
			s.Submit(b)
		}
	})
	s.Submit(first)
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("batches submitted from a callback were not committed")
	}
	c, err := s.Counts()
	if err != nil {
		t.Fatal(err)
	}
	if c[model.Queued] != maxPendingBatches+11 {
		t.Errorf("%d queued jobs, want %d", c[model.Queued], maxPendingBatches+11)
	}
}

// TestMaxBatchDelayGathers: with a delay, batches submitted in quick
// succession share a transaction even though each could have gone alone.
func TestMaxBatchDelayGathers(t *testing.T) {
	s := openTest(t, Options{MaxBatchDelay: time.Second})
	var last *Batch
	for i := 0; i < 10; i++ {
		last = NewBatch()
		last.PutJob(newJob(i, model.Queued))
		if i < 9 {
			s.Submit(last)
		}
	}
	if err := s.Commit(last); err != nil {
		t.Fatal(err)
	}
	// The first wake-up waits a second, then takes everything; only a
	// machine stalled for that second would split them.
	if st := s.Stats(); st.Transactions > 2 || st.Batches != 10 {
		t.Errorf("stats %+v, want the 10 batches in at most 2 transactions", st)
	}
}

// TestAcknowledgedWritesSurviveKill kills a helper process that commits
// from several goroutines and reports each write from its OnCommit
// callback, then checks that every reported write is in the file and that
// the indexes agree with the records.
func TestAcknowledgedWritesSurviveKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "batchhost.db")
	cmd, _, out := helper(t, "ack", path)
	acked := map[string]string{}
	lines := make(chan string)
	go func() {
		for out.Scan() {
			lines <- out.Text()
		}
		close(lines)
	}()
	deadline := time.After(2 * time.Minute)
	for len(acked) < 400 {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("helper ended before it was killed")
			}
			record(t, acked, line)
		case <-deadline:
			t.Fatalf("only %d acks within two minutes", len(acked))
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for line := range lines { // what it printed before it died
		record(t, acked, line)
	}
	_ = cmd.Wait()
	if d := testbin.Descendants(os.Getpid()); len(d) > 0 {
		t.Errorf("child processes left: %+v", d)
	}

	s := openAt(t, path, Options{})
	for id, st := range acked {
		j, err := s.Job(id)
		if err != nil {
			t.Fatalf("acknowledged job %s: %v", id, err)
		}
		if st == "completed" && j.State != model.Completed {
			t.Errorf("job %s acknowledged completed, stored %s", id, j.State)
		}
	}
	checkIndexes(t, s)
	t.Logf("%d acknowledged writes survived", len(acked))
}

func record(t *testing.T, acked map[string]string, line string) {
	var id, st string
	if _, err := fmt.Sscanf(line, "acked %s %s", &id, &st); err != nil {
		t.Fatalf("helper said %q", line)
	}
	if acked[id] != "completed" {
		acked[id] = st
	}
}
