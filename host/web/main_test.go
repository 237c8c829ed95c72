package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/internal/testbin"
)

// pluginDir holds the real chaos plugin, built once for all tests.
var pluginDir string

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "bh-web-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pluginDir, err = testbin.PluginDir(tmp, map[string]string{"chaos": testbin.Chaos})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// fixture is a started host with the chaos plugin, its dashboard on a
// loopback test server, and an HTTP client with a cookie jar.
type fixture struct {
	h   *host.Host
	srv *Server
	ts  *httptest.Server
	c   *http.Client
}

// serve starts a host and its dashboard. Cleanup closes the dashboard,
// the server and the host, in that order, and checks that no plugin
// process is left.
func serve(t testing.TB, opts Options, mod func(*host.Config)) *fixture {
	t.Helper()
	cfg := host.Config{
		DataDir:        t.TempDir(),
		PluginDir:      pluginDir,
		MaxWorkers:     4,
		KillGrace:      time.Second,
		DefaultBackoff: &host.Backoff{Initial: 5 * time.Millisecond, Multiplier: 2, Max: 50 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	h, err := host.Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if left := testbin.Descendants(os.Getpid()); len(left) > 0 {
			t.Errorf("processes left after Close: %+v", left)
		}
	})
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	srv, err := New(h, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	t.Cleanup(func() { srv.Close() })
	jar, _ := cookiejar.New(nil)
	return &fixture{h: h, srv: srv, ts: ts, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request and returns the response with its body read.
func (f *fixture) do(t testing.TB, method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := f.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func (f *fixture) get(t testing.TB, path string) (*http.Response, string) {
	t.Helper()
	return f.do(t, http.MethodGet, path, nil, nil)
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf" content="([^"]+)">`)

// csrf loads a page (which gives the client's jar its browser cookie) and
// returns the page's CSRF token.
func (f *fixture) csrf(t testing.TB) string {
	t.Helper()
	resp, body := f.get(t, "/")
	m := csrfMeta.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("GET / for a CSRF token: %d\n%s", resp.StatusCode, body)
	}
	return m[1]
}

// post sends a form the way the dashboard's own pages do, CSRF token
// included.
func (f *fixture) post(t testing.TB, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", f.csrf(t))
	return f.do(t, http.MethodPost, path, form, nil)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func submit(t testing.TB, h *host.Host, spec host.JobSpec) string {
	t.Helper()
	id, err := h.Submit(ctxT(t), spec)
	if err != nil {
		t.Fatalf("Submit %s: %v", spec.Task, err)
	}
	return id
}

func wait(t testing.TB, h *host.Host, id string) *host.Job {
	t.Helper()
	j, err := h.Wait(ctxT(t), id)
	if err != nil {
		t.Fatalf("Wait %s: %v", id, err)
	}
	return j
}
