package web

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// BenchmarkDashboard100k times the pages a person opens first on a host
// holding 100,000 jobs, through HTTP, and reports the 50th and 99th
// percentile latency of each:
//
//	go test ./host/web -run '^$' -bench Dashboard100k -benchtime 2000x
func BenchmarkDashboard100k(b *testing.B) {
	f, done, last := fixture100k(b)
	benchPages(b, f, []struct{ name, path string }{
		{"JobListFirstPage", "/jobs"},
		{"JobListFirstPage100", "/jobs?limit=100"},
		{"JobPageFinished", "/jobs/" + done},
		{"JobPageQueued", "/jobs/" + last},
		{"Overview", "/"},
		{"Metrics", "/metrics"},
	})
}

// BenchmarkJobSearch100k is the job list's worst case: a filter that
// matches nothing reads all 100,000 records.
//
//	go test ./host/web -run '^$' -bench JobSearch100k -benchtime 20x
func BenchmarkJobSearch100k(b *testing.B) {
	f, _, _ := fixture100k(b)
	benchPages(b, f, []struct{ name, path string }{{"NoMatch", "/jobs?q=no-such-text"}})
}

// fixture100k serves a host holding a finished job with attempts and a
// log, then 100,000 queued ones (dispatch paused), so that the list's
// first page is theirs. It returns the finished job and the newest one.
func fixture100k(b *testing.B) (f *fixture, done, last string) {
	const total = 100_000
	f = serve(b, Options{}, func(c *host.Config) { c.NoSync = true; c.MaxQueueSize = 2 * total })
	ctx := ctxT(b)
	done = submit(b, f.h, host.JobSpec{Task: "chaos.progress", Args: map[string]int{"steps": 20, "ms": 1}})
	wait(b, f.h, done)
	if err := f.h.PauseDispatch(ctx); err != nil {
		b.Fatal(err)
	}
	for n := 0; n < total; n += 1000 {
		specs := make([]host.JobSpec, 1000)
		for i := range specs {
			specs[i] = host.JobSpec{Task: "chaos.echo", Args: map[string]int{"n": n + i}, Priority: host.Priority(i%4 - 1),
				Labels: map[string]string{"batch": fmt.Sprint(n / 1000)}}
		}
		ids, err := f.h.SubmitMany(ctx, specs)
		if err != nil {
			b.Fatal(err)
		}
		last = ids[len(ids)-1]
	}
	return f, done, last
}

// benchPages times GETs of each page and reports their percentiles.
func benchPages(b *testing.B, f *fixture, pages []struct{ name, path string }) {
	for _, page := range pages {
		b.Run(page.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				resp, err := f.c.Get(f.ts.URL + page.path)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d", page.path, resp.StatusCode)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			at := func(q float64) float64 {
				return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(at(0.50), "p50-ms")
			b.ReportMetric(at(0.99), "p99-ms")
		})
	}
}
