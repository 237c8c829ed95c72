package host

import (
	"path/filepath"

	"github.com/batchhost/batchhost/host/internal/store"
)

// CheckReport is what Check found in a data directory's job database.
type CheckReport struct {
	// Path is the database file checked.
	Path string `json:"path"`
	// Schema is the file's schema version.
	Schema int `json:"schema"`
	// Records is the number of records read, by kind: "jobs", "groups",
	// "schedules".
	Records map[string]int `json:"records"`
	// Damaged lists every damaged record and index entry; empty when the
	// file is sound.
	Damaged []DamagedRecord `json:"damaged"`
}

// DamagedRecord is one damaged record or index entry.
type DamagedRecord struct {
	// Bucket is where it is: "jobs", "groups", "schedules" for records;
	// "live", "keys", "open", "meta" for index entries.
	Bucket string `json:"bucket"`
	// Key is its key: for a record, the job, group or schedule id.
	Key string `json:"key"`
	// Problem says what is wrong: "checksum mismatch", "JSON does not
	// decode: ...", "names job X, which is not stored", ...
	Problem string `json:"problem"`
}

// Check reads every record of the embedded job database in dataDir and
// reports the damaged ones, without writing to the file: records carry a
// checksum (CRC-32C), checked here as at every read. It fails at once, with
// a message naming the fix, while a host holds the file: stop the host
// first. A damaged record is left as it is by hosts (never run, changed
// or listed); restore a backup to get it back.
func Check(dataDir string) (*CheckReport, error) {
	r, err := store.Check(filepath.Join(dataDir, dbFile), 0)
	if err != nil {
		return nil, err
	}
	out := &CheckReport{Path: r.Path, Schema: r.Schema, Records: r.Records, Damaged: []DamagedRecord{}}
	for _, p := range r.Problems {
		out.Damaged = append(out.Damaged, DamagedRecord{Bucket: p.Bucket, Key: string(p.Key), Problem: p.Problem})
	}
	return out, nil
}
