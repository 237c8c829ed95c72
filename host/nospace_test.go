package host_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/batchhost/batchhost/host"
)

// A full disk does not wedge the host. The data dir is on a file system
// of 8 MiB of its own (tmpfs; the tests run as root): jobs run, a file
// fills the disk, and submits of large jobs go on until a commit fails.
// Then reads answer, every write fails with the no-space error (not a
// host that refuses everything until reopened), and once the file is
// removed the host goes on by itself: a submit succeeds, and every job
// acknowledged before, during and after completes. Reopened, the data
// file holds them all and checks sound.
func TestDiskFullDoesNotWedgeTheHost(t *testing.T) {
	mnt := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=8m"); err != nil {
		t.Fatalf("mount a tmpfs of 8 MiB for the data dir (the test needs root): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	var logs lockedBuffer
	cfg := host.Config{DataDir: filepath.Join(mnt, "data"), PluginDir: pluginDir, MaxWorkers: 4, KillGrace: time.Second, DefaultBackoff: fastBackoff,
		Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info})}
	h := reopen(t, cfg)
	ctx := ctxT(t)

	var acked []string
	for range 400 {
		acked = append(acked, submit(t, h, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 20}}))
	}

	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	big := strings.Repeat("x", 200<<10)
	var full error
	for i := 0; i < 200 && full == nil; i++ {
		var ids []string
		ids, full = h.SubmitMany(ctx, []host.JobSpec{
			{Task: "chaos.echo", Args: map[string]string{"pad": big}},
			{Task: "chaos.echo", Args: map[string]string{"pad": big}},
		})
		acked = append(acked, ids...)
		if full == nil {
			fill(t, filler) // what the commit freed, or what pruned logs gave back
		}
	}
	if full == nil {
		t.Fatal("no submit failed on a full disk")
	}
	t.Logf("the submit that found the disk full: %v", full)
	checkNoSpace := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s on a full disk succeeded", what)
		}
		if errors.Is(err, host.ErrFailed) || !errors.Is(err, host.ErrNoSpace) || !strings.Contains(err.Error(), "no space left on device") ||
			!strings.Contains(err.Error(), "free space") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("%s on a full disk: %v; want ErrNoSpace, one line naming the cause and the fix", what, err)
		}
	}
	checkNoSpace("submit", full)

	// Reads answer while the disk is full.
	if _, err := h.Stats(ctx); err != nil {
		t.Fatalf("stats on a full disk: %v", err)
	}
	if _, err := h.Get(ctx, acked[0]); err != nil {
		t.Fatalf("get on a full disk: %v", err)
	}
	if _, _, err := h.List(ctx, host.ListFilter{Limit: 10}); err != nil {
		t.Fatalf("list on a full disk: %v", err)
	}
	// Writes go on failing with the same error, not with a failed host.
	_, err := h.SubmitMany(ctx, []host.JobSpec{{Task: "chaos.echo", Args: map[string]string{"pad": big}}, {Task: "chaos.echo", Args: map[string]string{"pad": big}}})
	checkNoSpace("a second submit", err)
	// The outage lasts a while, attempts ending in it (their outcomes
	// are written again until they fit).
	for range 20 {
		_, err := h.SubmitMany(ctx, []host.JobSpec{{Task: "chaos.echo", Args: map[string]string{"pad": big}}, {Task: "chaos.echo", Args: map[string]string{"pad": big}}})
		checkNoSpace("a submit", err)
	}

	// Space returns: the host goes on by itself.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	id, err := h.Submit(ctx, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 1}})
	if err != nil {
		t.Fatalf("submit once space is back: %v", err)
	}
	acked = append(acked, id)
	for _, id := range acked {
		if j := wait(t, h, id); j.State != host.StateCompleted {
			t.Fatalf("job %s acknowledged before the disk filled: %s %+v", id, j.State, j.Error)
		}
	}

	// The host logged the full disk and its end.
	for _, want := range []string{"no space left for the data file", "the data file takes writes again"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the host's log does not say %q:\n%s", want, logs.String())
		}
	}

	t.Logf("the engine logged outcome writes that found the disk full: %v", strings.Contains(logs.String(), "recording the outcomes of attempts"))

	// Reopened, the file holds every acknowledged job, and checks sound.
	closeHost(t, h)
	h = reopen(t, cfg)
	for _, id := range acked {
		j, err := h.Get(ctx, id)
		if err != nil || j.State != host.StateCompleted {
			t.Fatalf("job %s after reopening: %v %v", id, j, err)
		}
	}
	closeHost(t, h)
	rep, err := host.Check(cfg.DataDir)
	if err != nil || len(rep.Damaged) > 0 {
		t.Fatalf("check after the disk was full: %+v %v", rep, err)
	}
}

// lockedBuffer is a log output the host's goroutines share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fill writes to path until the file system has no space left.
func fill(t *testing.T, path string) {
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
					t.Fatal(fmt.Errorf("filling the disk: %w", err))
				}
				break
			}
		}
	}
}
