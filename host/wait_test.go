package host_test

import (
	"context"
	"testing"

	"github.com/batchhost/batchhost/host"
)

// A Wait abandoned by its context leaves nothing behind in the engine.
func TestAbandonedWaitsAreForgotten(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	h.PauseDispatch(ctx)
	id := submit(t, h, host.JobSpec{Task: "chaos.noop"})
	for range 100 {
		short, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := h.Wait(short, id); err == nil {
			t.Fatal("Wait with a canceled context returned no error")
		}
	}
	if n := host.Waiters(h, id); n != 0 {
		t.Fatalf("%d waiters left on the job", n)
	}
}
