package joblog

import (
	"os"
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
