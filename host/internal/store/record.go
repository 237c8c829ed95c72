package store

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Records of the jobs, groups and schedules buckets are sealed (schema 3):
//
//	format byte (1) | CRC-32C of key and JSON, big-endian (4) | JSON
//
// bbolt checks its meta pages, not the pages that hold records, so a byte
// flipped inside a record would otherwise be found only if it broke the
// JSON, and then by whoever read it first. The key is in the checksum so
// that a record found under another key (a flipped key byte) is damaged
// too. The format byte tells a sealed record from a schema 2 one (which
// starts with '{') while an upgrade is part-way.
const (
	recordFormat = 1
	recordHeader = 5
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func recordSum(key, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, payload)
}

// seal returns the stored form of payload, the JSON of the record under key.
func seal(key, payload []byte) []byte {
	b := make([]byte, recordHeader+len(payload))
	b[0] = recordFormat
	binary.BigEndian.PutUint32(b[1:], recordSum(key, payload))
	copy(b[recordHeader:], payload)
	return b
}

// sealInPlace seals a record whose JSON follows recordHeader bytes
// left for the header.
func sealInPlace(key, rec []byte) {
	rec[0] = recordFormat
	binary.BigEndian.PutUint32(rec[1:], recordSum(key, rec[recordHeader:]))
}

// Problems unseal reports; `batchhost check` shows them as they are.
const (
	problemChecksum  = "checksum mismatch"
	problemTooShort  = "record too short for its checksum"
	problemNoSeal    = "record has no checksum (unknown format)"
	problemUndecoded = "JSON does not decode"
	problemWrongID   = "record holds another id"
)

// unseal checks a stored record against its key and returns its JSON, or
// which problem it has. The JSON is a subslice of rec: valid only as long
// as rec is (inside its transaction).
func unseal(key, rec []byte) ([]byte, string) {
	if len(rec) > 0 && rec[0] != recordFormat {
		return nil, problemNoSeal
	}
	if len(rec) < recordHeader {
		return nil, problemTooShort
	}
	payload := rec[recordHeader:]
	if binary.BigEndian.Uint32(rec[1:]) != recordSum(key, payload) {
		return nil, problemChecksum
	}
	return payload, ""
}

// sealed reports whether rec is in the sealed format, whatever its
// checksum: the upgrade to schema 3 leaves such records as they are.
func sealed(rec []byte) bool { return len(rec) > 0 && rec[0] == recordFormat }

// damaged is the error of a record that fails its checksum or does not
// decode: it names the record and the file, and matches ErrDamaged.
func (s *Store) damaged(kind string, id []byte, problem string, cause error) error {
	return newError(ErrDamaged, cause, fmt.Sprintf("%s %s: its record is damaged (%s) in data file %s", kind, id, problem, s.path))
}
