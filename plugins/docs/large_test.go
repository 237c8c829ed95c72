package docs_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batchhost/batchhost/plugins/docs"
	"github.com/batchhost/batchhost/sdk/sdktest"
)

// largeSize is the size of the large-file tests' document: big enough for
// a dozen progress reports, small enough to stay well under a second.
const largeSize = 50 << 20

// writeLarge writes a 50 MB text file of numbered lines.
func writeLarge(t *testing.T) (path string, content []byte) {
	t.Helper()
	line := []byte("lorem ipsum dolor sit amet, consectetur adipiscing elit 0123456789\n")
	content = bytes.Repeat(line, largeSize/len(line)+1)[:largeSize]
	path = filepath.Join(t.TempDir(), "large.txt")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, content
}

// checkProgress fails unless res reported progress several times, rising,
// within [0, 1].
func checkProgress(t *testing.T, res *sdktest.Result, min int) {
	t.Helper()
	ps := res.Progress()
	if len(ps) < min {
		t.Fatalf("%d progress reports, want at least %d", len(ps), min)
	}
	for i, p := range ps {
		if p.Fraction < 0 || p.Fraction > 1 || (i > 0 && p.Fraction < ps[i-1].Fraction) {
			t.Errorf("progress %d: %v after %v", i, p.Fraction, ps[max(i-1, 0)].Fraction)
		}
	}
}

func TestLargeFile(t *testing.T) {
	path, content := writeLarge(t)
	sum := sha256.Sum256(content)

	t.Run("inspect", func(t *testing.T) {
		res := run(t, "inspect", docs.InspectArgs{Path: path})
		var out docs.InspectResult
		res.Decode(&out)
		if out.Size != largeSize || out.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("size %d sha256 %s, want %d %x", out.Size, out.SHA256, largeSize, sum)
		}
		checkProgress(t, res, 10) // every 4 MiB of 50 MB
		if last := res.Progress()[len(res.Progress())-1]; last.Message == "" {
			t.Error("progress without a message")
		}
	})
	t.Run("extract", func(t *testing.T) {
		res := run(t, "extract", docs.ExtractArgs{Path: path, MaxChars: 100})
		var out docs.ExtractResult
		res.Decode(&out)
		if out.Chars != largeSize || !out.Truncated || out.Text != string(content[:100]) {
			t.Errorf("chars %d truncated %v text %q", out.Chars, out.Truncated, out.Text)
		}
		checkProgress(t, res, 10)
	})
	t.Run("organize", func(t *testing.T) {
		dest := t.TempDir()
		res := run(t, "organize", docs.OrganizeArgs{Path: path, Dest: dest, Rules: testRules})
		var out docs.OrganizeResult
		res.Decode(&out)
		if out.Action != docs.ActionCopied || out.Category != "misc" {
			t.Errorf("%+v", out)
		}
		checkProgress(t, res, 30) // hashing, reading and copying
	})
}

// TestLargeFileStopsAtTimeout: a task reading a large file returns when
// its ctx ends instead of reading on.
func TestLargeFileStopsAtTimeout(t *testing.T) {
	path, _ := writeLarge(t)
	for _, task := range []string{"inspect", "analyze"} {
		res := run(t, task, map[string]string{"path": path}, sdktest.WithTimeout(time.Millisecond), sdktest.WithGrace(30*time.Second))
		if res.Err == nil || res.Err.Kind != "timeout" {
			t.Errorf("%s: err %v, want a timeout", task, res.Err)
		}
		if res.Abandoned {
			t.Errorf("%s ignored its ctx", task)
		}
	}
}
