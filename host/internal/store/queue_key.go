package store

import (
	"encoding/hex"
)

// jobKey is a job id as a ready-index entry holds it: the 16 bytes of a
// canonical lower-case UUID (every id the host makes), or, for an id of
// another shape (tests, or a file from before UUIDs), a number into the
// index's table of such ids. An entry then holds no pointer: a million of
// them cost 48 bytes each, and nothing to the garbage collector's scans.
type jobKey struct {
	b     [16]byte
	other bool // b holds a number into readyIndex.others
}

// keyOf is the key of id; the caller holds x.mu.
func (x *readyIndex) keyOf(id string) jobKey {
	if b, ok := uuidBytes(id); ok {
		return jobKey{b: b}
	}
	n, ok := x.otherNum[id]
	if !ok {
		n = uint64(len(x.others))
		x.others = append(x.others, id)
		if x.otherNum == nil {
			x.otherNum = map[string]uint64{}
		}
		x.otherNum[id] = n
	}
	var k jobKey
	k.other = true
	for i := range 8 {
		k.b[i] = byte(n >> (8 * i))
	}
	return k
}

// id is the job id of an entry; the caller holds x.mu.
func (x *readyIndex) id(e readyEntry) string {
	if !e.id.other {
		var buf [36]byte
		return string(formatUUID(&buf, e.id.b))
	}
	var n uint64
	for i := range 8 {
		n |= uint64(e.id.b[i]) << (8 * i)
	}
	return x.others[n]
}

// ids are the job ids of entries.
func (x *readyIndex) ids(es []readyEntry) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = x.id(e)
	}
	return out
}

// uuidBytes parses a canonical lower-case UUID (8-4-4-4-12 hex digits).
func uuidBytes(s string) ([16]byte, bool) {
	var b [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return b, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := lowerHex(s[i])
		lo, ok2 := lowerHex(s[i+1])
		if !ok1 || !ok2 {
			return b, false
		}
		b[j] = hi<<4 | lo
		j++
		i += 2
	}
	return b, true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func formatUUID(buf *[36]byte, b [16]byte) []byte {
	hex.Encode(buf[0:8], b[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], b[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], b[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], b[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:36], b[10:16])
	return buf[:]
}
