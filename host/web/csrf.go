package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
)

// Cross-site request forgery defence, two layers: the browser's own
// Sec-Fetch-Site/Origin headers (http.CrossOriginProtection), and a token
// every form and script sends back, which is a MAC under a per-server
// secret of a random per-browser cookie. A page of another site can
// neither read the cookie nor compute the MAC.
const (
	csrfCookie = "batchhost_csrf"
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
	maxForm    = 4 << 20 // a bulk action names at most a few hundred thousand bytes of ids
)

// csrfToken returns the token for r's browser, giving the browser its
// cookie first if it has none.
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	v := ""
	if c, err := r.Cookie(csrfCookie); err == nil && validBrowserID(c.Value) {
		v = c.Value
	} else {
		b := make([]byte, 16)
		rand.Read(b)
		v = hex.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: s.cookiePath(),
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	}
	return s.csrfFor(v)
}

func (s *Server) csrfFor(browserID string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(browserID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func validBrowserID(v string) bool {
	_, err := hex.DecodeString(v)
	return err == nil && len(v) == 32
}

// checkPost refuses a POST that is an action on a read-only dashboard or
// that may be forged; it answers the request itself and returns false
// then. A request carrying the token in its Authorization header comes
// from a program, not a browser a page could drive: it needs no CSRF
// token.
func (s *Server) checkPost(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.ReadOnly && r.URL.Path != "/login" && r.URL.Path != "/logout" {
		s.fail(w, r, http.StatusForbidden, "this dashboard is read-only: actions are disabled")
		return false
	}
	if err := s.origin.Check(r); err != nil {
		s.fail(w, r, http.StatusForbidden, "refused a request from another site")
		return false
	}
	if s.bearer(r) {
		return true
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "cannot read the form: "+err.Error())
		return false
	}
	sent := r.Header.Get(csrfHeader)
	if sent == "" {
		sent = r.PostForm.Get(csrfField)
	}
	c, err := r.Cookie(csrfCookie)
	if err != nil || !validBrowserID(c.Value) || !hmac.Equal([]byte(sent), []byte(s.csrfFor(c.Value))) {
		s.fail(w, r, http.StatusForbidden, "the form's security token is missing or out of date (the dashboard may have restarted): reload the page and try again")
		return false
	}
	return true
}
