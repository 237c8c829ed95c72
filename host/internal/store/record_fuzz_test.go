package store

import (
	"bytes"
	"testing"

	"github.com/batchhost/batchhost/host/internal/model"
)

// FuzzRecordCodec feeds arbitrary keys and stored bytes to the record
// codec. Decoding never panics, whatever the bytes (a damaged file holds
// anything); sealing round-trips; a sealed record with any one byte
// changed fails its checksum; and a record that decodes as a job encodes
// to bytes that decode to the same job.
func FuzzRecordCodec(f *testing.F) {
	j := newJob(1, model.Completed)
	sealedJob, _ := encodeJob(j)
	f.Add([]byte(j.ID), sealedJob)
	f.Add([]byte(j.ID), sealedJob[recordHeader:]) // as schema 2 stored it
	f.Add([]byte("g1"), []byte{recordFormat, 0, 0, 0, 0, '{', '}'})
	f.Add([]byte(""), []byte{})
	s := &Store{path: "fuzz.db"}
	f.Fuzz(func(t *testing.T, key, rec []byte) {
		_, _ = s.decodeJob(key, rec)
		_, _ = s.decodeHead(key, rec)
		_, _ = s.decodeGroup(key, rec)
		_, _ = s.decodeSchedule(key, rec)

		sealedRec := seal(key, rec)
		payload, problem := unseal(key, sealedRec)
		if problem != "" || !bytes.Equal(payload, rec) {
			t.Fatalf("seal then unseal: %q, %q; want %q", payload, problem, rec)
		}
		// CRC-32C finds every error burst of 32 bits or less: any one byte.
		for _, i := range []int{0, 1, len(sealedRec) / 2, len(sealedRec) - 1} {
			bad := bytes.Clone(sealedRec)
			bad[i] ^= 0x5a
			if _, problem := unseal(key, bad); problem == "" {
				t.Fatalf("byte %d of %q changed, and the record still passes", i, sealedRec)
			}
		}

		// Round trip of a job: what decodes, encodes to what decodes the same.
		j, err := s.decodeJob(key, sealedRec)
		if err != nil {
			return
		}
		enc, err := encodeJob(j)
		if err != nil {
			return // a value JSON cannot encode (e.g. a NaN float in args)
		}
		j2, err := s.decodeJob([]byte(j.ID), enc)
		if err != nil {
			t.Fatalf("re-encoded job %q does not decode: %v", enc, err)
		}
		enc2, err := encodeJob(j2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("job encodes as %q, then as %q (%v)", enc, enc2, err)
		}
	})
}
