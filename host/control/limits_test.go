package control_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

func padded(n int) host.JobSpec {
	return host.JobSpec{Task: "chaos.echo", Args: map[string]string{"pad": strings.Repeat("x", n)}}
}

// The server accepts what a valid request needs and no more: a SubmitMany
// over MaxRequestBytes is refused from its length, with a message that
// says the sizes and what to do, and commits nothing; SplitSubmit splits
// the same jobs into runs that fit.
func TestRequestsOverTheLimitAreRefused(t *testing.T) {
	f := serve(t, nil)
	ctx := ctxT(t)
	if err := f.h.PauseDispatch(ctx); err != nil {
		t.Fatal(err)
	}
	specs := make([]host.JobSpec, 20)
	for i := range specs {
		specs[i] = padded(1_000_000)
	}
	_, err := f.c.SubmitMany(ctx, specs)
	if err == nil || !strings.Contains(err.Error(), "over the limit of 16777216: send fewer jobs per call") {
		t.Fatalf("a 20 MB SubmitMany: %v", err)
	}
	if st, _ := f.h.Stats(ctx); st.Counts[host.StateQueued] != 0 {
		t.Fatalf("a refused request committed %d jobs", st.Counts[host.StateQueued])
	}
	runs, err := control.SplitSubmit(specs)
	if err != nil || len(runs) != 2 || len(runs[0]) != 16 || len(runs[1]) != 4 {
		t.Fatalf("SplitSubmit: %d runs, %v", len(runs), err)
	}
	// The smaller run, to keep the test light: it goes in.
	if _, err := f.c.SubmitMany(ctx, runs[1]); err != nil {
		t.Fatalf("a run of %d: %v", len(runs[1]), err)
	}
}

// bigBadSpec is a 17 MiB job whose bad task name the host refuses before
// it looks at the args: the test sees the request read, cheaply.
func bigBadSpec() host.JobSpec {
	spec := padded(17 << 20)
	spec.Task = "nodot"
	return spec
}

// A host that allows bigger args lets a job that needs them through to
// its checks; a host with the default limit refuses the same request for
// its size.
func TestRequestLimitFollowsMaxArgsBytes(t *testing.T) {
	f := serve(t, func(c *host.Config) { c.MaxArgsBytes = 20 << 20 })
	if _, err := f.c.Submit(ctxT(t), bigBadSpec()); !errors.Is(err, host.ErrInvalid) || !strings.Contains(err.Error(), "must be <plugin>.<task>") {
		t.Fatalf("a 17 MiB job on a host allowing 20 MiB args: %v, want it read and checked", err)
	}
}

func TestRequestLimitByDefault(t *testing.T) {
	f := serve(t, nil)
	if _, err := f.c.Submit(ctxT(t), bigBadSpec()); err == nil || !strings.Contains(err.Error(), "over the limit of 16777216") {
		t.Fatalf("a 17 MiB job on a default host: %v, want refused for its size", err)
	}
}
