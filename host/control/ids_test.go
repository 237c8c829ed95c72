package control_test

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

// samePrefixPair makes ids with newID until two of them share at least
// host.MinIDPrefix leading characters and returns them with that prefix.
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

// The server resolves prefixes for every request naming a job or group.
func TestServerResolvesIDPrefixes(t *testing.T) {
	f := serve(t, nil)
	ctx := ctxT(t)
	a, b, shared := samePrefixPair(t, func() string {
		id, err := f.c.Create(ctx, host.JobSpec{Task: "chaos.noop"})
		if err != nil {
			t.Fatal(err)
		}
		return id
	})
	// Jobs made later in the same millisecond share more than shared.
	pa, pb := a[:30], b[:30]

	if j, err := f.c.Get(ctx, pa); err != nil || j.ID != a {
		t.Fatalf("Get(%s) = %+v, %v; want job %s", pa, j, err, a)
	}
	_, err := f.c.Get(ctx, shared)
	var re *control.RemoteError
	if !errors.As(err, &re) || re.Code != codes.InvalidArgument || !errors.Is(err, host.ErrAmbiguous) ||
		!strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) {
		t.Fatalf("Get(%s) = %v; want an ambiguous error naming %s and %s", shared, err, a, b)
	}
	if _, err := f.c.Get(ctx, a[:7]); !errors.Is(err, host.ErrNotFound) || !strings.Contains(err.Error(), "at least 8") {
		t.Fatalf("Get(%s) = %v; want not found, asking for 8 characters", a[:7], err)
	}

	// A group, its members and a dependency named by prefixes.
	gid, err := f.c.CreateGroup(ctx, host.GroupSpec{Name: "g"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.c.AddJobsToGroup(ctx, gid[:13], pa, pb); err != nil {
		t.Fatalf("AddJobsToGroup by prefixes: %v", err)
	}
	c, err := f.c.Create(ctx, host.JobSpec{Task: "chaos.noop", DependsOn: host.After(pa)})
	if err != nil {
		t.Fatalf("Create depending on a prefix: %v", err)
	}
	if _, err := f.c.Create(ctx, host.JobSpec{Task: "chaos.noop", DependsOn: host.After(shared)}); !errors.Is(err, host.ErrAmbiguous) {
		t.Fatalf("Create depending on an ambiguous prefix: %v", err)
	}
	if j, err := f.c.Get(ctx, c); err != nil || len(j.DependsOn) != 1 || j.DependsOn[0].Job != a {
		t.Fatalf("dependent: %+v, %v; want it to depend on %s", j, err, a)
	}
	if err := f.c.SubmitGroup(ctx, gid[:10]); err != nil {
		t.Fatalf("SubmitGroup by prefix: %v", err)
	}
	if g, err := f.c.WaitGroup(ctx, gid[:10]); err != nil || g.ID != gid {
		t.Fatalf("WaitGroup by prefix: %+v, %v", g, err)
	}
	if j, err := f.c.Wait(ctx, pb); err != nil || j.ID != b || j.State != host.StateCompleted {
		t.Fatalf("Wait(%s) = %+v, %v", pb, j, err)
	}
	if _, err := f.c.Logs(ctx, pb); err != nil {
		t.Fatalf("Logs by prefix: %v", err)
	}
	if err := f.c.SubmitCreated(ctx, c[:20]); err != nil {
		t.Fatalf("SubmitCreated by prefix: %v", err)
	}
	if err := f.c.Cancel(ctx, shared); !errors.Is(err, host.ErrAmbiguous) {
		t.Fatalf("Cancel(%s) = %v; want ambiguous", shared, err)
	}
	if err := f.c.Retry(ctx, pa); !errors.Is(err, host.ErrState) {
		t.Fatalf("Retry of a completed job by prefix: %v; want the host's state error", err)
	}
}
