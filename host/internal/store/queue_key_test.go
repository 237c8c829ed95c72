package store

import (
	"testing"
	"unsafe"
)

// TestJobKeys: a canonical UUID is kept as its 16 bytes and given back
// as it was; any other id goes through the table, the same id to the same
// number; an entry holds no pointer and takes 48 bytes.
func TestJobKeys(t *testing.T) {
	var x readyIndex
	for _, id := range []string{"0192f5a4-7c1e-7d2a-9b3c-4d5e6f708192", "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"} {
		k := x.keyOf(id)
		if k.other {
			t.Errorf("%s: not kept as a UUID", id)
		}
		if got := x.id(readyEntry{id: k}); got != id {
			t.Errorf("%s came back as %s", id, got)
		}
	}
	for _, id := range []string{"a1", "0192F5A4-7C1E-7D2A-9B3C-4D5E6F708192", "0192f5a4-7c1e-7d2a-9b3c-4d5e6f70819", "0192f5a4x7c1e-7d2a-9b3c-4d5e6f708192", ""} {
		k := x.keyOf(id)
		if !k.other {
			t.Errorf("%q taken for a canonical UUID", id)
		}
		if got := x.id(readyEntry{id: k}); got != id {
			t.Errorf("%q came back as %q", id, got)
		}
		if x.keyOf(id) != k {
			t.Errorf("%q got a second number", id)
		}
	}
	if n := len(x.others); n != 5 {
		t.Errorf("%d ids in the table, want 5", n)
	}
	if s := unsafe.Sizeof(readyEntry{}); s != 48 {
		t.Errorf("a ready entry takes %d bytes, want 48", s)
	}
}
