package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

const sessionCookie = "batchhost_session"

// allowed applies the access rules; it answers the request itself and
// returns false when they refuse it.
func (s *Server) allowed(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Token == "" {
		// No token: only this machine. The local address rules out a
		// listener on another interface (an embedder's mistake); the
		// Host header rules out DNS rebinding, where a web page's own
		// name resolves to 127.0.0.1.
		if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && !isLoopbackAddr(addr.String()) {
			s.fail(w, r, http.StatusForbidden, "this dashboard has no token, so it serves only loopback addresses: set a token to serve "+addr.String())
			return false
		}
		if !isLoopbackHost(r.Host) {
			s.fail(w, r, http.StatusForbidden, "this dashboard has no token, so it answers only requests for localhost or a loopback address, not "+r.Host)
			return false
		}
		return true
	}
	if r.URL.Path == "/login" || r.URL.Path == "/static/app.css" {
		return true // the login form must be reachable to log in
	}
	if s.bearer(r) || s.session(r) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="batchhost"`)
	if wantsJSON(r) || r.Method != http.MethodGet {
		s.fail(w, r, http.StatusUnauthorized, "this dashboard needs its token: send Authorization: Bearer TOKEN, or log in at /login")
		return false
	}
	s.renderLogin(w, r, http.StatusUnauthorized, "")
	return false
}

// bearer reports whether r carries the token in an Authorization header.
func (s *Server) bearer(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && s.opts.Token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.Token)) == 1
}

// session reports whether r carries the cookie the login form sets. The
// cookie is a MAC of a fixed text under the token, not the token itself:
// it proves the token was known, and a new token voids it.
func (s *Server) session(r *http.Request) bool {
	c, err := r.Cookie(sessionCookie)
	return err == nil && hmac.Equal([]byte(c.Value), []byte(s.sessionValue()))
}

func (s *Server) sessionValue() string {
	m := hmac.New(sha256.New, []byte(s.opts.Token))
	m.Write([]byte("batchhost dashboard session v1"))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Server) cookiePath() string {
	if s.opts.Prefix == "" {
		return "/"
	}
	return s.opts.Prefix + "/"
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if s.opts.Token == "" {
		http.Redirect(w, r, s.url("/"), http.StatusSeeOther)
		return
	}
	s.renderLogin(w, r, http.StatusOK, "")
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.opts.Token == "" {
		http.Redirect(w, r, s.url("/"), http.StatusSeeOther)
		return
	}
	tok := r.PostFormValue("token")
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.Token)) != 1 {
		s.renderLogin(w, r, http.StatusUnauthorized, "That is not the token.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.sessionValue(), Path: s.cookiePath(),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, s.url(localPath(r.PostFormValue("next"))), http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: s.cookiePath(), MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, s.url("/login"), http.StatusSeeOther)
}

// localPath keeps a redirect target inside the dashboard: a path of ours,
// never another site ("//evil", "https://...").
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return "/"
	}
	return p
}

func isLoopbackAddr(hostport string) bool {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return strings.HasPrefix(hostport, "@") || strings.HasPrefix(hostport, "/") // unix sockets are local
	}
	return ap.Addr().Unmap().IsLoopback()
}

// isLoopbackHost reports whether a Host header names this machine.
func isLoopbackHost(h string) bool {
	name := h
	if host, _, err := net.SplitHostPort(h); err == nil {
		name = host
	}
	name = strings.TrimSuffix(strings.Trim(name, "[]"), ".")
	if strings.EqualFold(name, "localhost") || strings.HasSuffix(strings.ToLower(name), ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(name)
	return err == nil && a.Unmap().IsLoopback()
}

// promLogger hands promhttp's errors to the handler's logger.
type promLogger struct {
	l interface{ Error(string, ...any) }
}

func (p promLogger) Println(v ...any) {
	p.l.Error("metrics", "error", fmt.Sprint(v...))
}
