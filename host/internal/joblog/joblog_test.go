package joblog

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestWriteReadRemove(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if recs, err := d.Read("nolog"); err != nil || recs != nil {
		t.Fatalf("Read of a job that never logged: %v %v", recs, err)
	}
	w := d.Writer("j1")
	now := time.Now().UTC()
	w.Append(Record{Time: now, Attempt: 1, Level: "info", Message: "hello", Fields: []byte(`{"i":1}`)})
	w.Append(Record{Time: now, Attempt: 1, Level: "warn", Message: "ünïcode"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// A torn line from a crash is skipped, not fatal.
	f, _ := os.OpenFile(d.file("j1"), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"time":"2026`)
	f.Close()
	recs, err := d.Read("j1")
	if err != nil || len(recs) != 2 || recs[1].Message != "ünïcode" || string(recs[0].Fields) != `{"i":1}` {
		t.Fatalf("Read = %+v, %v", recs, err)
	}
	if err := d.Remove("j1", "missing"); err != nil {
		t.Fatal(err)
	}
	if recs, _ := d.Read("j1"); recs != nil {
		t.Fatal("log survived Remove")
	}
}

// A job's log stops at its cap: the records past it are dropped and
// counted in one marker record when the writer closes, and a later
// attempt's writer finds the cap already reached.
func TestLogCapDropsAndCounts(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d.SetMaxJobBytes(4 << 10)
	for attempt := 1; attempt <= 2; attempt++ {
		w := d.Writer("j")
		for i := range 1000 {
			w.Append(Record{Time: time.Unix(int64(i), 0), Attempt: attempt, Level: "info", Message: strings.Repeat("x", 90)})
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(d.file("j"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 4<<10+2*300 { // the cap, and a marker per attempt
		t.Errorf("log is %d bytes, cap 4096", fi.Size())
	}
	recs, err := d.Read("j")
	if err != nil {
		t.Fatal(err)
	}
	var kept, markers int
	for _, r := range recs {
		if strings.Contains(r.Message, "were dropped") {
			markers++
			if r.Level != "warn" || !strings.Contains(r.Message, "4096 bytes") {
				t.Errorf("marker %+v", r)
			}
			continue
		}
		kept++
	}
	if markers != 2 || kept == 0 || kept >= 1000 {
		t.Fatalf("%d records kept, %d markers; want some kept, and one marker per attempt", kept, markers)
	}
	last := recs[len(recs)-1]
	if last.Attempt != 2 || !strings.Contains(last.Message, "1000 more records") {
		t.Errorf("second attempt's marker %+v: every record of it was past the cap", last)
	}
}

// The logs of all jobs stay under the total cap: a record that would pass
// it removes finished jobs' logs, least recently written first, and never
// an unfinished job's; when nothing finished is left, records are dropped
// and counted in one marker per attempt. The total is counted again from
// the files at Open.
func TestLogTotalCapRemovesOldestFinished(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	finished := map[string]bool{"old": true, "mid": true, "new": true}
	d.SetMaxTotalBytes(20<<10, func(id string) bool { return finished[id] })
	rec := func(attempt int) Record {
		return Record{Time: time.Unix(1, 0), Attempt: attempt, Level: "info", Message: strings.Repeat("x", 90)}
	}
	write := func(id string, n int) {
		w := d.Writer(id)
		for range n {
			w.Append(rec(1))
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// 4 KiB-ish each; "unfinished" is older than all of them.
	base := time.Now().Add(-time.Hour)
	for i, id := range []string{"unfinished", "old", "mid", "new"} {
		write(id, 30)
		if err := os.Chtimes(d.file(id), base.Add(time.Duration(i)*time.Minute), base.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	before := d.TotalBytes()
	if sum := dirBytes(t, dir); before != sum {
		t.Fatalf("total %d, files hold %d", before, sum)
	}
	// 6 KiB more: over 20 KiB, so finished logs go, oldest first, down
	// to 18 KiB with the new records.
	write("big", 45)
	exists := func(id string) bool { _, err := os.Stat(d.file(id)); return err == nil }
	if exists("old") || !exists("unfinished") || !exists("new") || !exists("big") {
		t.Fatalf("after the cap was reached: old %v unfinished %v new %v big %v; want old removed, the others kept",
			exists("old"), exists("unfinished"), exists("new"), exists("big"))
	}
	if got := d.TotalBytes(); got > 20<<10 || got != dirBytes(t, dir) {
		t.Fatalf("total %d (files %d), cap %d", got, dirBytes(t, dir), 20<<10)
	}
	if recs, _ := d.Read("big"); len(recs) != 45 {
		t.Fatalf("big kept %d records of 45", len(recs))
	}
	// Nothing finished left to remove: records past the cap are dropped
	// and counted, and the unfinished logs are whole.
	midKept := exists("mid")
	delete(finished, "mid")
	delete(finished, "new")
	w := d.Writer("flood")
	for range 300 {
		w.Append(rec(2))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := d.Read("flood")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 || len(recs) > 100 {
		t.Fatalf("flood kept %d records of 300 under the total cap", len(recs))
	}
	last := recs[len(recs)-1]
	want := fmt.Sprintf("%d more records", 300-(len(recs)-1))
	if last.Level != "warn" || last.Attempt != 2 || !strings.Contains(last.Message, "all jobs' logs") || !strings.Contains(last.Message, want) {
		t.Fatalf("last record %+v, want the marker of the dropped records (%s)", last, want)
	}
	if !exists("unfinished") || exists("mid") != midKept || !exists("new") {
		t.Fatal("a log of a job not finished was removed")
	}
	if got := d.TotalBytes(); got > 20<<10+1024 || got != dirBytes(t, dir) {
		t.Fatalf("total %d (files %d), cap %d and a marker", got, dirBytes(t, dir), 20<<10)
	}
	// Removing counts down; a new Dir counts what is there.
	if err := d.Remove("big"); err != nil {
		t.Fatal(err)
	}
	d2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.TotalBytes() != dirBytes(t, dir) || d2.TotalBytes() != d.TotalBytes() {
		t.Fatalf("after Remove: total %d, reopened %d, files %d", d.TotalBytes(), d2.TotalBytes(), dirBytes(t, dir))
	}
}

func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}
