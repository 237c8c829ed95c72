package store

import (
	"context"
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

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// TestFullDiskVoidsClaimsAndLosesNoJob fills the disk under the data file
// (an 8 MiB tmpfs of its own) while claims are decided in the lane and
// large inserts fail: the failed commits answer ErrNoSpace (which is
// ErrUnavailable, not ErrFailed), and once space is back every job that
// no durable claim took is still claimable, exactly once: the claims a
// failed commit voided gave their jobs back to the ready index.
func TestFullDiskVoidsClaimsAndLosesNoJob(t *testing.T) {
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=8m"); err != nil {
		t.Fatalf("mount a tmpfs of 8 MiB (the test needs root): %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(mnt, syscall.MNT_DETACH) })
	ctx := context.Background()
	q := openTestQueue(t, filepath.Join(mnt, "q.db"))
	now := time.Unix(1000, 0)
	const n = 300
	var small []*model.Job
	for i := range n {
		small = append(small, qjob(fmt.Sprintf("s%04d", i), "t", model.Normal))
	}
	if _, err := q.Insert(ctx, backend.InsertParams{Now: now, Jobs: small}); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(mnt, "filler")
	fillDisk(t, filler)

	var mu sync.Mutex
	durable := map[string]int{} // claimed by a claim that succeeded
	voided := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				js, err := q.Claim(ctx, backend.ClaimParams{Owner: "h1", Limit: 1, Now: now, Quota: map[string]int{"t": 1}, Applied: func([]*model.Job) {}})
				mu.Lock()
				if err != nil {
					if !errors.Is(err, backend.ErrNoSpace) {
						mu.Unlock()
						t.Errorf("claim: %v, want ErrNoSpace", err)
						return
					}
					voided++
				}
				for _, j := range js {
					durable[j.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	args := json.RawMessage(`"` + strings.Repeat("a", 64<<10) + `"`)
	fails := 0
	for i := 0; fails < 20 && i < 2000; i++ {
		var big []*model.Job
		for k := range 8 {
			j := qjob(fmt.Sprintf("b%04d-%d", i, k), "other", model.Normal)
			j.Args = args
			big = append(big, j)
		}
		_, err := q.Insert(ctx, backend.InsertParams{Now: now, Jobs: big})
		switch {
		case err == nil:
		case errors.Is(err, backend.ErrNoSpace) && errors.Is(err, backend.ErrUnavailable) && !errors.Is(err, backend.ErrFailed):
			fails++
		default:
			t.Fatalf("insert on a full disk: %v, want ErrNoSpace", err)
		}
	}
	close(stop)
	wg.Wait()
	if fails == 0 {
		t.Fatal("no insert failed on a full disk")
	}
	mu.Lock()
	t.Logf("inserts refused: %d; claims voided: %d; jobs claimed durably: %d", fails, voided, len(durable))
	mu.Unlock()
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	// Every job not durably claimed is claimable now, once.
	for {
		js, err := q.Claim(ctx, backend.ClaimParams{Owner: "h2", Limit: 50, Now: now, Quota: map[string]int{"t": 50}})
		if err != nil {
			t.Fatalf("claim once space is back: %v", err)
		}
		if len(js) == 0 {
			break
		}
		for _, j := range js {
			durable[j.ID]++
		}
	}
	for _, j := range small {
		if c := durable[j.ID]; c != 1 {
			t.Errorf("job %s claimed %d times, want once", j.ID, c)
		}
	}
}

func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, size := range []int{1 << 20, 4 << 10, 512} {
		buf := make([]byte, size)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling the disk: %v", err)
				}
				break
			}
		}
	}
}
