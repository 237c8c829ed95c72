package docs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// journalDir is where, inside a destination, docs.organize records moves
// in progress. Category names cannot start with a dot, so it never
// collides with one.
const journalDir = ".batchhost/organize"

// journalKeep is how long a journal entry is kept: a retry later than this
// after a move no longer recognizes it (the source is gone, so it fails
// with invalid_args). The host's default retention of finished jobs is
// seven days too.
const journalKeep = 7 * 24 * time.Hour

// journal is the record of one job's move of one source into one
// destination.
type journal struct {
	dir  string
	key  string // names the entry, and the copy's temporary file
	path string
}

// journalEntry says where a move sends a document and what it holds.
type journalEntry struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Category    string `json:"category"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// journalFor returns the journal of job jobID moving src into dest. The
// key is a digest of the three, so every attempt of one job finds the same
// entry and different jobs never share one.
func journalFor(dest, jobID, src string) journal {
	h := sha256.Sum256([]byte(jobID + "\x00" + src + "\x00" + dest))
	key := hex.EncodeToString(h[:16])
	dir := filepath.Join(dest, journalDir)
	return journal{dir: dir, key: key, path: filepath.Join(dir, key+".json")}
}

// read returns the entry, or nil if there is none (or it is unreadable:
// then the retry behaves as a first attempt).
func (j journal) read() *journalEntry {
	b, err := os.ReadFile(j.path)
	if err != nil {
		return nil
	}
	var e journalEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil
	}
	return &e
}

// write records e durably (a synced temporary file renamed over the
// entry), after pruning old entries of the directory now and then.
func (j journal) write(e journalEntry) error {
	if err := os.MkdirAll(j.dir, 0o700); err != nil {
		return fmt.Errorf("create the organize journal %s: %w", j.dir, err)
	}
	prune(j.dir)
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write the organize journal: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, j.path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write the organize journal: %w", err)
	}
	return syncDir(j.dir)
}

// pruneEvery bounds how often one process scans a journal directory for
// old entries, so that organizing many files does not rescan it each time.
const pruneEvery = time.Hour

var (
	pruneMu   sync.Mutex
	lastPrune = map[string]time.Time{}
)

// prune removes journal entries older than journalKeep from dir, at most
// once per pruneEvery per directory and process. Failures are ignored: a
// stale entry is harmless.
func prune(dir string) {
	pruneMu.Lock()
	if time.Since(lastPrune[dir]) < pruneEvery {
		pruneMu.Unlock()
		return
	}
	lastPrune[dir] = time.Now()
	pruneMu.Unlock()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > journalKeep {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
