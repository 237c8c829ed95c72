package main

import (
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host"
)

// samePrefixPair makes ids with newID until two of them share at least
// host.MinIDPrefix leading characters (UUIDv7 ids made within the same
// 65 s do, unless a boundary falls between them) and returns them with the
// prefix they share.
func samePrefixPair(t *testing.T, newID func() string) (a, b, shared string) {
	t.Helper()
	b = newID()
	for range 3 {
		a, b = b, newID()
		n := 0
		for n < len(a) && a[n] == b[n] {
			n++
		}
		if n >= host.MinIDPrefix {
			return a, b, a[:n]
		}
	}
	t.Fatalf("no two of the ids made share %d characters; last %s %s", host.MinIDPrefix, a, b)
	return
}

func TestCommandsTakeIDPrefixes(t *testing.T) {
	d := startDaemon(t, nil)
	a, b, shared := samePrefixPair(t, func() string { return id(t, d.ok(t, "create", "chaos.noop")) })
	pa, pb := a[:len(shared)+1], b[:len(shared)+1]

	if out := d.ok(t, "get", pa); !strings.Contains(out, "id        "+a) {
		t.Fatalf("get %s:\n%s", pa, out)
	}
	if out := d.ok(t, "cancel", pb); !strings.HasPrefix(out, b+"  canceled") {
		t.Fatalf("cancel %s: %q", pb, out)
	}
	if j := jobJSON(t, d.ok(t, "--json", "get", b)); j["state"] != "canceled" {
		t.Fatalf("after cancel by prefix: %v", j)
	}

	// An ambiguous prefix is a usage mistake naming the matches.
	r := d.fails(t, 2, "job id prefix "+shared+" is ambiguous, it matches "+a+", "+b+": give more characters", "get", shared)
	if strings.Contains(r.stderr, "--help") {
		t.Errorf("an ambiguous prefix needs no help hint: %q", r.stderr)
	}
	d.fails(t, 2, "cancel "+shared[:8]+": job id prefix "+shared[:8]+" is ambiguous", "cancel", shared[:8])
	d.fails(t, 1, "job "+a[:7]+" not found (give the whole id or at least 8 of its characters)", "get", a[:7])

	gid := id(t, d.ok(t, "group", "create", "g"))
	d.ok(t, "group", "add", gid[:9], pa)
	if out := d.ok(t, "group", "get", gid[:9]); !strings.Contains(out, a) {
		t.Fatalf("group get %s:\n%s", gid[:9], out)
	}
}
