package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// Live pages beyond MaxLiveStreams are answered 503 with the reason; a
// closed one makes room.
func TestLivePagesAreCapped(t *testing.T) {
	f := serve(t, Options{MaxLiveStreams: 1}, nil)
	ctx, cancel := context.WithCancel(ctxT(t))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.ts.URL+"/events?topic=overview", nil)
	first, err := f.c.Do(req) // its headers come once the page is counted
	if err != nil || first.StatusCode != http.StatusOK {
		t.Fatalf("first live page: %v %v", first, err)
	}
	resp, body := f.do(t, http.MethodGet, "/events?topic=jobs", nil, map[string]string{"Accept": "application/json"})
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "too many live pages are open (at most 1)") {
		t.Fatalf("second live page: %d %s", resp.StatusCode, body)
	}
	cancel()
	first.Body.Close()
	// The first stream's handler leaves when it notices; wait for it.
	for {
		changed := f.srv.hub.countChanged()
		if f.srv.hub.count() == 0 {
			break
		}
		<-changed
	}
	req, _ = http.NewRequestWithContext(ctxT(t), http.MethodGet, f.ts.URL+"/events?topic=jobs", nil)
	again, err := f.c.Do(req)
	if err != nil || again.StatusCode != http.StatusOK {
		t.Fatalf("a live page after one closed: %v %v", again, err)
	}
	again.Body.Close()
	if _, err := New(f.h, Options{MaxLiveStreams: -1}); err == nil || !strings.Contains(err.Error(), "MaxLiveStreams must not be negative") {
		t.Fatalf("a negative MaxLiveStreams: %v", err)
	}
}
