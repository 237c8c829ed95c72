package store

import (
	"bytes"
	"os"
	"testing"
	"unsafe"

	bolt "go.etcd.io/bbolt"
)

// flipInRecords flips bytes inside the stored records of ids in bucket, as
// a bad disk or a stray write would: in each record the first byte of its
// JSON (so that it no longer decodes) when breakJSON is set, and then
// bytes inside the JSON's string values (so that it still decodes, with
// other values), n bytes a record in all. It finds each record where it
// is in the file through bbolt's mapping of it, not by searching the
// file, which holds stale copies of records in its free pages.
func flipInRecords(t *testing.T, path string, bucket []byte, ids []string, n int, breakJSON bool) {
	t.Helper()
	type at struct{ off, len int }
	var spots []at
	var copies [][]byte // records bbolt copied out of its mapping (small buckets kept inline)
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	base := db.Info().Data
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		for _, id := range ids {
			v := b.Get([]byte(id))
			if v == nil {
				t.Fatalf("no record %s in %s", id, bucket)
			}
			off := int(uintptr(unsafe.Pointer(&v[0])) - base)
			if off < 0 || off >= int(tx.Size()) {
				copies = append(copies, bytes.Clone(v))
				continue
			}
			spots = append(spots, at{off, len(v)})
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A copied record is found by its bytes: every place that holds them
	// is flipped (stale copies in free pages do not matter).
	for _, c := range copies {
		found := false
		for i := 0; ; {
			j := bytes.Index(data[i:], c)
			if j < 0 {
				break
			}
			spots = append(spots, at{i + j, len(c)})
			found = true
			i += j + len(c)
		}
		if !found {
			t.Fatalf("record %q not found in the file", c)
		}
	}
	for _, s := range spots {
		rec := data[s.off : s.off+s.len]
		// The JSON starts at the first '{' (after the seal's header, if any).
		start := 0
		for start < len(rec) && rec[start] != '{' {
			start++
		}
		flipped := 0
		if breakJSON {
			rec[start] ^= 0x01 // '{' becomes 'z'
			flipped++
		}
		// Flip the case of letters inside the JSON: it stays valid JSON.
		for i := start + 1; i < len(rec) && flipped < n; i += 7 {
			if c := rec[i] | 0x20; c >= 'a' && c <= 'z' {
				rec[i] ^= 0x20
				flipped++
			}
		}
		if flipped < n {
			t.Fatalf("record at %d: only %d letters to flip", s.off, flipped)
		}
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
