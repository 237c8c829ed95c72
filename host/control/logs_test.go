package control_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// A big log is streamed one record at a time: reading 8,000 records
// (about 40 MB) through the control API grows neither the server's nor
// the client's memory with the log (both run in this process).
func TestLogsStreamWithoutHoldingTheLog(t *testing.T) {
	var dataDir string
	f := serve(t, func(c *host.Config) { dataDir = c.DataDir })
	// Long: the race detector makes each record's trip slow.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	id, err := f.c.Submit(ctx, host.JobSpec{Task: "chaos.noop"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	const records = 8_000
	file, err := os.Create(filepath.Join(dataDir, "logs", id+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(file)
	pad := strings.Repeat("x", 5000)
	for i := range records {
		fmt.Fprintf(w, `{"time":"2026-11-30T12:00:00Z","attempt":1,"level":"info","message":"line %d %s","fields":{"i":%d}}`+"\n", i, pad, i)
	}
	if err := errors.Join(w.Flush(), file.Close()); err != nil {
		t.Fatal(err)
	}

	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base, peak := m.HeapAlloc, m.HeapAlloc
	n := 0
	err = f.c.EachLog(ctx, id, func(r host.LogRecord) error {
		if r.Attempt != 1 || !strings.HasPrefix(r.Message, fmt.Sprintf("line %d ", n)) {
			return fmt.Errorf("record %d: %+v", n, r)
		}
		n++
		if n%1_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
		}
		return nil
	})
	if err != nil || n != records {
		t.Fatalf("EachLog: %d records, %v", n, err)
	}
	if grew := int64(peak) - int64(base); grew > 16<<20 {
		t.Errorf("the heap grew by %d MiB while streaming a %d-record log, want it flat", grew>>20, records)
	}
}
