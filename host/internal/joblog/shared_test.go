package joblog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// memShared keeps shipped logs as a database would, in memory: each job
// a list of chunks at contiguous offsets. fail makes the next ships fail.
// Each ship, failed or not, is told on shipped once it is over.
type memShared struct {
	mu      sync.Mutex
	chunks  map[string][]Chunk
	fail    int
	ships   int
	shipped chan struct{}
}

func (m *memShared) AppendLog(_ context.Context, id string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	defer func() {
		select {
		case m.shipped <- struct{}{}:
		default: // nobody waits: the test looks at the state instead
		}
	}()
	if m.fail > 0 {
		m.fail--
		return errors.New("database unreachable")
	}
	m.ships++
	var off int64
	if cs := m.chunks[id]; len(cs) > 0 {
		last := cs[len(cs)-1]
		off = last.Offset + int64(len(last.Data))
	}
	m.chunks[id] = append(m.chunks[id], Chunk{Offset: off, Data: slices.Clone(data)})
	return nil
}

func (m *memShared) LogChunks(_ context.Context, id string, from int64, limit int) ([]Chunk, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Chunk
	for _, c := range m.chunks[id] {
		if c.Offset+int64(len(c.Data)) > from && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memShared) RemoveLogs(_ context.Context, ids ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		delete(m.chunks, id)
	}
	return nil
}

// awaitShip waits, ship by ship, until done holds (at most 10 s).
func (m *memShared) awaitShip(t *testing.T, done func() bool, what string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for !done() {
		select {
		case <-m.shipped:
		case <-timeout:
			t.Fatalf("waited 10s for %s", what)
		}
	}
}

func sharedDir(t *testing.T) (*Dir, *memShared) {
	t.Helper()
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := &memShared{chunks: map[string][]Chunk{}, shipped: make(chan struct{}, 1)}
	d.SetShared(m)
	return d, m
}

// A writer ships what it writes within shipEvery, before it closes, so
// that another host reads a running attempt's records; Close ships the
// rest; reads come from the shared store, not the file.
func TestSharedLogShipsWhileRunning(t *testing.T) {
	d, m := sharedDir(t)
	other := &Dir{shared: m} // another host: no file of this job
	w := d.Writer("j1")
	w.Append(Record{Time: time.Now(), Attempt: 1, Level: "info", Message: "first"})
	m.awaitShip(t, func() bool {
		recs, err := other.Read("j1")
		return err == nil && len(recs) == 1 && recs[0].Message == "first"
	}, "the running writer's record to reach the shared store")
	off, err := other.Each("j1", 0, func(Record) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	w.Append(Record{Time: time.Now(), Attempt: 1, Level: "info", Message: "second"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var later []string
	if _, err := other.Each("j1", off, func(r Record) error { later = append(later, r.Message); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(later, []string{"second"}) {
		t.Fatalf("Each from the offset after the first record: %v, want [second]", later)
	}
	if err := d.Remove("j1"); err != nil {
		t.Fatal(err)
	}
	if recs, err := other.Read("j1"); err != nil || len(recs) != 0 {
		t.Fatalf("after Remove, another host reads %+v, %v", recs, err)
	}
}

// A ship that fails is tried again with what came after it, in order;
// a big log goes in pieces of at most shipBytes, each whole records,
// and reads back whole and in order.
func TestSharedLogShipsInOrderThroughFailures(t *testing.T) {
	d, m := sharedDir(t)
	m.fail = 2
	w := d.Writer("j1")
	pad := strings.Repeat("x", 1000)
	const n = 1000 // about 1.1 MB: several pieces
	for i := range n {
		w.Append(Record{Time: time.Now(), Attempt: 1, Level: "info", Message: fmt.Sprintf("%d %s", i, pad)})
	}
	m.awaitShip(t, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.fail == 0
	}, "the failing ships to be tried again")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := d.Read("j1")
	if err != nil || len(recs) != n {
		t.Fatalf("Read: %d records, %v; want %d", len(recs), err, n)
	}
	for i, r := range recs {
		if !strings.HasPrefix(r.Message, fmt.Sprintf("%d ", i)) {
			t.Fatalf("record %d is %.10q: out of order", i, r.Message)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.chunks["j1"] {
		if len(c.Data) > shipBytes || c.Data[len(c.Data)-1] != '\n' {
			t.Fatalf("a chunk of %d bytes ending %q: want at most %d, whole records", len(c.Data), c.Data[len(c.Data)-1], shipBytes)
		}
	}
}
