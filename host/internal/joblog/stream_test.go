package joblog

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func messages(recs []Record) string {
	var m []string
	for _, r := range recs {
		m = append(m, r.Message)
	}
	return strings.Join(m, ",")
}

// Each reads from an offset and stops before an unfinished line, so a
// reader can follow a growing log; a line too long to hold is skipped.
func TestEachFollowsFromAnOffset(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	collect := func(from int64) (string, int64) {
		var recs []Record
		off, err := d.Each("j", from, func(r Record) error { recs = append(recs, r); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return messages(recs), off
	}
	if got, off := collect(0); got != "" || off != 0 {
		t.Fatalf("a job that never logged: %q at %d", got, off)
	}
	w := d.Writer("j")
	for i := range 3 {
		w.Append(Record{Time: time.Now(), Attempt: 1, Level: "info", Message: fmt.Sprint("m", i)})
	}
	w.Flush()
	got, off := collect(0)
	if got != "m0,m1,m2" {
		t.Fatalf("Each from 0: %q", got)
	}
	f, _ := os.OpenFile(d.file("j"), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"message":"x","level":"info","long":"` + strings.Repeat("a", MaxRecordBytes) + "\"}\n")
	f.WriteString(`{"message":"torn`)
	f.Close()
	if got, off2 := collect(off); got != "" || off2 <= off {
		t.Fatalf("after a too long line and an unfinished one: %q, offset %d -> %d", got, off, off2)
	} else {
		off = off2
	}
	f, _ = os.OpenFile(d.file("j"), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`","level":"info"}` + "\n")
	f.Close()
	if got, _ := collect(off); got != "torn" {
		t.Fatalf("the line once finished: %q", got)
	}
	stop := fmt.Errorf("stop")
	n := 0
	if _, err := d.Each("j", 0, func(Record) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("an error from fn: %v after %d records", err, n)
	}
}

// Tail keeps the last records within its count and byte bounds and says
// how many it skipped.
func TestTail(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := d.Writer("j")
	for i := range 10 {
		w.Append(Record{Attempt: 1, Level: "info", Message: fmt.Sprint("m", i)})
	}
	w.Close()
	recs, skipped, err := d.Tail("j", 3, 1<<20)
	if err != nil || messages(recs) != "m7,m8,m9" || skipped != 7 {
		t.Fatalf("Tail 3: %q, %d skipped, %v", messages(recs), skipped, err)
	}
	recs, skipped, _ = d.Tail("j", 100, 1)
	if messages(recs) != "m9" || skipped != 9 {
		t.Fatalf("Tail within 1 byte: %q, %d skipped", messages(recs), skipped)
	}
	if recs, skipped, err := d.Tail("none", 3, 100); recs != nil || skipped != 0 || err != nil {
		t.Fatalf("Tail of no log: %v %d %v", recs, skipped, err)
	}
	if _, _, err := d.Tail("j", 0, 100); err == nil {
		t.Fatal("Tail of 0 records accepted")
	}
}
