package web

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host"
)

const testToken = "s3cret-token-0123456789"

func TestTokenGuardsEveryRequest(t *testing.T) {
	f := serve(t, Options{Token: testToken}, nil)
	bearer := map[string]string{"Authorization": "Bearer " + testToken}
	for _, path := range []string{"/", "/jobs", "/metrics", "/healthz", "/readyz", "/events?topic=overview", "/static/app.js", "/fragment/overview"} {
		resp, _ := f.get(t, path)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without the token: %d, want 401", path, resp.StatusCode)
		}
		resp, _ = f.do(t, http.MethodGet, path, nil, map[string]string{"Authorization": "Bearer wrong-token-0123456789"})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token: %d, want 401", path, resp.StatusCode)
		}
		if path == "/events?topic=overview" {
			continue // a stream: checked below
		}
		resp, _ = f.do(t, http.MethodGet, path, nil, bearer)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with the token: %d, want 200", path, resp.StatusCode)
		}
	}
	// A browser gets the login form; a program asking for JSON gets JSON.
	resp, body := f.get(t, "/jobs")
	if !strings.Contains(body, `name="token"`) || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no login form on 401:\n%s", body)
	}
	resp, body = f.do(t, http.MethodGet, "/jobs", nil, map[string]string{"Accept": "application/json"})
	var e struct{ Error string }
	if json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, "needs its token") {
		t.Errorf("JSON 401: %d %s", resp.StatusCode, body)
	}
	// A POST without the token changes nothing.
	id := submitPaused(t, f)
	resp, _ = f.do(t, http.MethodPost, "/jobs/"+id+"/cancel", url.Values{}, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST without the token: %d", resp.StatusCode)
	}
	if j, _ := f.h.Get(ctxT(t), id); j.State != host.StateQueued {
		t.Errorf("job is %s after a refused cancel", j.State)
	}

	// The login form: a wrong token is refused, the right one sets a
	// session cookie that then opens every page.
	csrf := loginCSRF(t, f)
	resp, body = f.do(t, http.MethodPost, "/login", url.Values{"token": {"nope-nope-nope-nope"}, "csrf": {csrf}, "next": {"/jobs"}}, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "That is not the token") {
		t.Errorf("login with a wrong token: %d", resp.StatusCode)
	}
	resp, _ = f.do(t, http.MethodPost, "/login", url.Values{"token": {testToken}, "csrf": {csrf}, "next": {"//evil.example/"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q (an off-site next must become /)", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ = f.get(t, "/jobs"); resp.StatusCode != http.StatusOK {
		t.Errorf("after login: %d", resp.StatusCode)
	}
	if resp, _ = f.post(t, "/jobs/"+id+"/cancel", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("cancel after login: %d", resp.StatusCode)
	}
	if resp, _ = f.post(t, "/logout", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if resp, _ = f.get(t, "/jobs"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after logout: %d", resp.StatusCode)
	}
	// A program sends the token in the header and needs no CSRF token.
	id2 := submitPaused(t, f)
	resp, _ = f.do(t, http.MethodPost, "/jobs/"+id2+"/cancel", url.Values{}, map[string]string{"Authorization": "Bearer " + testToken, "Accept": "application/json"})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("bearer POST: %d", resp.StatusCode)
	}
}

// loginCSRF reads the CSRF token off the login form.
func loginCSRF(t *testing.T, f *fixture) string {
	t.Helper()
	_, body := f.get(t, "/login")
	m := csrfMeta.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on the login page:\n%s", body)
	}
	return m[1]
}

// submitPaused submits a job that stays queued: dispatch is paused.
func submitPaused(t *testing.T, f *fixture) string {
	t.Helper()
	if err := f.h.PauseDispatch(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	return submit(t, f.h, host.JobSpec{Task: "chaos.echo"})
}

func TestReadOnlyHidesAndRefusesActions(t *testing.T) {
	f := serve(t, Options{ReadOnly: true}, nil)
	id := submitPaused(t, f)
	_, page := f.get(t, "/jobs/"+id)
	_, list := f.get(t, "/jobs")
	_, over := f.get(t, "/")
	for name, body := range map[string]string{"job": page, "list": list, "overview": over} {
		if strings.Contains(body, `method="post"`) && !strings.Contains(body, "/logout") {
			t.Errorf("%s page offers an action on a read-only dashboard", name)
		}
	}
	for _, path := range []string{"/jobs/" + id + "/cancel", "/jobs/bulk", "/dispatch/resume", "/schedules/x/trigger", "/groups/x/cancel"} {
		resp, body := f.post(t, path, url.Values{"action": {"cancel"}, "all": {"1"}})
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "read-only") {
			t.Errorf("POST %s on a read-only dashboard: %d", path, resp.StatusCode)
		}
	}
	if j, _ := f.h.Get(ctxT(t), id); j.State != host.StateQueued {
		t.Errorf("job is %s after refused actions", j.State)
	}
	if st, _ := f.h.Stats(ctxT(t)); !st.DispatchPaused {
		t.Error("dispatch resumed by a refused action")
	}
}

func TestForgedPostsAreRefused(t *testing.T) {
	f := serve(t, Options{}, nil)
	id := submitPaused(t, f)
	csrf := f.csrf(t)
	for name, tc := range map[string]struct {
		form url.Values
		hdr  map[string]string
	}{
		"no token":          {url.Values{}, nil},
		"wrong token":       {url.Values{"csrf": {"AAAA"}}, nil},
		"another site":      {url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		"another origin":    {url.Values{"csrf": {csrf}}, map[string]string{"Origin": "http://evil.example"}},
		"token, no cookie":  {url.Values{"csrf": {csrf}}, map[string]string{"Cookie": ""}},
		"bearer, no tokens": {url.Values{}, map[string]string{"Authorization": "Bearer " + testToken}},
	} {
		c := f.c
		if name == "token, no cookie" {
			f.c = &http.Client{CheckRedirect: c.CheckRedirect}
		}
		resp, _ := f.do(t, http.MethodPost, "/jobs/"+id+"/cancel", tc.form, tc.hdr)
		f.c = c
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, resp.StatusCode)
		}
	}
	if j, _ := f.h.Get(ctxT(t), id); j.State != host.StateQueued {
		t.Fatalf("job is %s after forged posts", j.State)
	}
	resp, _ := f.do(t, http.MethodPost, "/jobs/"+id+"/cancel", url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("genuine post: %d", resp.StatusCode)
	}
	if j := wait(t, f.h, id); j.State != host.StateCanceled {
		t.Errorf("job is %s after a genuine cancel", j.State)
	}
}

// Without a token only this machine may use the dashboard: a request that
// arrived on another address, or that names another host (DNS
// rebinding), is refused.
func TestNoTokenMeansLoopbackOnly(t *testing.T) {
	f := serve(t, Options{}, nil)
	if resp, _ := f.do(t, http.MethodGet, "/", nil, map[string]string{"Host": "evil.example:8080"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("Host evil.example: %d, want 403", resp.StatusCode)
	}
	for _, h := range []string{"localhost:1234", "127.0.0.1:80", "[::1]:9", "app.localhost"} {
		if resp, _ := f.do(t, http.MethodGet, "/healthz", nil, map[string]string{"Host": h}); resp.StatusCode != http.StatusOK {
			t.Errorf("Host %s: %d, want 200", h, resp.StatusCode)
		}
	}
	// As if the handler were served on another interface (no traffic is
	// sent: the request is handed to the handler directly).
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Host = "localhost"
	req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 8080}))
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "set a token") {
		t.Errorf("request on 10.1.2.3 without a token: %d", rec.Code)
	}
}

func TestOptionsRefuseWeakTokens(t *testing.T) {
	f := serve(t, Options{}, nil)
	for _, tok := range []string{"short", "has a space in it 0123", "tab\there-0123456789"} {
		if _, err := New(f.h, Options{Token: tok}); err == nil {
			t.Errorf("token %q accepted", tok)
		}
	}
	if _, err := New(f.h, Options{Prefix: "jobs"}); err == nil {
		t.Error("prefix without a leading slash accepted")
	}
}

func TestPrefixMountsUnderAPath(t *testing.T) {
	f := serve(t, Options{Prefix: "/bh/"}, nil)
	id := submitPaused(t, f)
	resp, body := f.get(t, "/bh/jobs")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="/bh/jobs/`+id+`"`) || !strings.Contains(body, `/bh/static/app.css`) {
		t.Fatalf("GET /bh/jobs: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := f.get(t, "/jobs"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /jobs outside the prefix: %d", resp.StatusCode)
	}
	if resp, _ := f.get(t, "/bhx/jobs"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /bhx/jobs: %d", resp.StatusCode)
	}
	resp, _ = f.do(t, http.MethodPost, "/bh/jobs/"+id+"/cancel", url.Values{"csrf": {csrfMeta.FindStringSubmatch(body)[1]}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/bh/jobs/"+id+"?done=cancel" {
		t.Errorf("cancel under the prefix: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}
