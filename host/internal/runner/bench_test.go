package runner

import (
	"context"
	"sync"
	"testing"
	"time"
)

// BenchmarkNoopAttempts measures chaos.noop attempts through warm plugin
// processes at a given concurrency.
func BenchmarkNoopAttempts(b *testing.B) {
	for _, conc := range []int{1, 8} {
		b.Run(map[int]string{1: "conc1", 8: "conc8"}[conc], func(b *testing.B) {
			benchNoop(b, open(b, nil), conc)
		})
	}
}

// BenchmarkProtocol1Noop is BenchmarkNoopAttempts/conc8 with the chaos
// plugin built from the last protocol version 1 commit: what a plugin
// built with the previous SDK costs on this host.
func BenchmarkProtocol1Noop(b *testing.B) {
	benchNoop(b, open(b, withChaos(b, chaosV1Bin, nil)), 8)
}

func benchNoop(b *testing.B, m *Manager, conc int) {
	run := func() {
		r, err := m.Start(context.Background(), Attempt{JobID: "b", Attempt: 1, Task: "chaos.noop"}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if out := r.Outcome(); out.Err != nil {
			b.Fatal(out.Err)
		}
	}
	// Warm conc processes.
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			r, _ := m.Start(context.Background(), Attempt{JobID: "w", Attempt: 1, Task: "chaos.sleep", Args: []byte(`{"ms":200}`)}, nil)
			r.Outcome()
		})
	}
	wg.Wait()
	b.ResetTimer()
	start := time.Now()
	work := make(chan struct{})
	for range conc {
		wg.Go(func() {
			for range work {
				run()
			}
		})
	}
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "attempts/s")
}

// BenchmarkProcessStart measures launch + handshake + Describe of a plugin
// process.
func BenchmarkProcessStart(b *testing.B) {
	m := open(b, nil)
	b.ResetTimer()
	for range b.N {
		p, _, err := m.describe(chaosBin)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		p.kill()
		b.StartTimer()
	}
}
