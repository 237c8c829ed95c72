package host_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host"
)

// samePrefixPair makes ids with newID until two of them share at least
// host.MinIDPrefix leading characters (UUIDv7 ids made within the same 65 s
// do, unless a boundary falls between them) and returns them with the
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

func TestResolveIDPrefixes(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	a, b, shared := samePrefixPair(t, func() string {
		id, err := h.Create(ctx, host.JobSpec{Task: "chaos.noop"})
		if err != nil {
			t.Fatal(err)
		}
		return id
	})
	unique := a[:len(shared)+1]

	for _, c := range []struct {
		name, in, want string
		is             error
		msg            []string
	}{
		{"whole id", a, a, nil, nil},
		{"unique prefix", unique, a, nil, nil},
		{"unique prefix upper case", strings.ToUpper(unique), a, nil, nil},
		{"ambiguous", shared, "", host.ErrAmbiguous, []string{"job id prefix " + shared + " is ambiguous", a, b}},
		{"ambiguous at 8", shared[:8], "", host.ErrAmbiguous, []string{a, b}},
		{"too short", a[:7], "", host.ErrNotFound, []string{"at least 8 of its characters"}},
		{"no match", "ffffffff-ff", "", host.ErrNotFound, []string{"job ffffffff-ff not found"}},
		{"empty", "", "", nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := h.ResolveJobID(ctx, c.in)
			if c.is == nil {
				if err != nil || got != c.want {
					t.Fatalf("ResolveJobID(%q) = %q, %v; want %q", c.in, got, err, c.want)
				}
				return
			}
			if !errors.Is(err, c.is) || got != "" {
				t.Fatalf("ResolveJobID(%q) = %q, %v; want an error matching %v", c.in, got, err, c.is)
			}
			for _, m := range c.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
		})
	}

	// The resolved id is the one the host's calls take.
	id, err := h.ResolveJobID(ctx, unique)
	if err != nil {
		t.Fatal(err)
	}
	if j, err := h.Get(ctx, id); err != nil || j.ID != a {
		t.Fatalf("Get(resolved) = %+v, %v", j, err)
	}

	ga, gb, gshared := samePrefixPair(t, func() string {
		id, err := h.CreateGroup(ctx, host.GroupSpec{Name: "g"})
		if err != nil {
			t.Fatal(err)
		}
		return id
	})
	if got, err := h.ResolveGroupID(ctx, ga[:len(gshared)+1]); err != nil || got != ga {
		t.Errorf("ResolveGroupID(unique) = %q, %v; want %s", got, err, ga)
	}
	if _, err := h.ResolveGroupID(ctx, gshared); !errors.Is(err, host.ErrAmbiguous) || !strings.Contains(err.Error(), gb) {
		t.Errorf("ResolveGroupID(shared) = %v, want ambiguous naming %s", err, gb)
	}
	// A job id is no group id.
	if _, err := h.ResolveGroupID(ctx, unique); !errors.Is(err, host.ErrNotFound) {
		t.Errorf("ResolveGroupID(job prefix) = %v, want not found", err)
	}
}

func TestResolveIDNamesAtMostFiveMatches(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	specs := make([]host.JobSpec, 50)
	for i := range specs {
		specs[i] = host.JobSpec{Task: "chaos.noop"}
	}
	ids, err := h.SubmitMany(ctx, specs)
	if err != nil {
		t.Fatal(err)
	}
	// The most ids sharing their first 8 characters: 50 made in one call
	// cross at most one 65 s boundary.
	byPrefix := map[string]int{}
	best := ""
	for _, id := range ids {
		byPrefix[id[:8]]++
		if byPrefix[id[:8]] > byPrefix[best] {
			best = id[:8]
		}
	}
	_, err = h.ResolveJobID(ctx, best)
	if !errors.Is(err, host.ErrAmbiguous) || !strings.HasSuffix(err.Error(), " and more: give more characters") || strings.Count(err.Error(), best) != 6 {
		t.Fatalf("ResolveJobID(%s) with %d matches: %v; want 5 named and more", best, byPrefix[best], err)
	}
}
