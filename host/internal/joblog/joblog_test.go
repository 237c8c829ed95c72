package joblog

import (
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
