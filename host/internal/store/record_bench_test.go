package store

import (
	"testing"

	"github.com/batchhost/batchhost/host/internal/model"
)

// BenchmarkJobRecord encodes and decodes one job record of a typical size
// (about 600 bytes): the CPU a record costs on each write and read,
// without the disk, where the checksum's share would show.
func BenchmarkJobRecord(b *testing.B) {
	j := newJob(1, model.Running)
	j.Args = []byte(`{"path":"/srv/inbox/2026/03/letter-from-the-tax-office.pdf","language":"english","ocr":true}`)
	j.Labels = map[string]string{"source": "scanner", "batch": "2026-03-01"}
	j.Attempts = []model.AttemptRecord{{Attempt: 1, StartedAt: t0}}
	s := &Store{path: "bench.db"}
	id := []byte(j.ID)
	data, err := encodeJob(j)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		data, err := encodeJob(j)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.decodeJob(id, data); err != nil {
			b.Fatal(err)
		}
	}
}
