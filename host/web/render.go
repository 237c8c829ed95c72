package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/batchhost/batchhost/host"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// timeLayout is how the pages print a time: to the second, in the
// server's zone.
const timeLayout = "2006-01-02 15:04:05"

// templates holds one template set per page, each the layout plus the
// page's own file, so that every page can define "content" and its
// fragments.
type templates struct {
	pages map[string]*template.Template
}

var assetVersion = func() string {
	h := sha256.New()
	fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := staticFS.ReadFile(p)
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

func parseTemplates() (*templates, error) {
	base, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	t := &templates{pages: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		c, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		t.pages[name] = c
	}
	return t, nil
}

func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Links carry ?v=<content hash>: a new binary means new URLs.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}

// view is what every page template gets.
type view struct {
	Title    string
	Nav      string // which menu entry is current
	Prefix   string
	CSRF     string
	ReadOnly bool
	Auth     bool   // a token guards the dashboard: offer to log out
	Live     string // the page's event stream, "" for none
	Flash    string
	Version  string
	Data     any
}

func (s *Server) newView(w http.ResponseWriter, r *http.Request, title, nav string, data any) *view {
	return &view{Title: title, Nav: nav, Prefix: s.opts.Prefix, CSRF: s.csrfToken(w, r),
		ReadOnly: s.opts.ReadOnly, Auth: s.opts.Token != "", Flash: flash(r), Version: assetVersion, Data: data}
}

// render writes a whole page (layout "page") or one of its fragments.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page, tmpl string, v *view) {
	var buf bytes.Buffer
	if err := s.tmpl.pages[page].ExecuteTemplate(&buf, tmpl, v); err != nil {
		s.opts.Logger.Error("render", "page", page, "template", tmpl, "error", err)
		s.fail(w, r, http.StatusInternalServerError, "the page could not be rendered; the server log has the details")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Server) page(w http.ResponseWriter, r *http.Request, page string, v *view) {
	s.render(w, r, http.StatusOK, page, "page", v)
}

// fail answers with an error: JSON {"error": ...} to a program that asks
// for JSON, a page to a browser.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	if wantsJSON(r) || r.URL.Path == "/events" || strings.HasPrefix(r.URL.Path, "/fragment/") {
		if strings.HasPrefix(r.URL.Path, "/fragment/") && !wantsJSON(r) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(status)
			fmt.Fprintln(w, msg)
			return
		}
		writeJSON(w, status, map[string]any{"error": msg, "status": status})
		return
	}
	v := &view{Title: http.StatusText(status), Prefix: s.opts.Prefix, ReadOnly: s.opts.ReadOnly,
		Auth: s.opts.Token != "", Version: assetVersion, Data: errorData{Status: status, Message: msg}}
	var buf bytes.Buffer
	if err := s.tmpl.pages["error"].ExecuteTemplate(&buf, "page", v); err != nil {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorData struct {
	Status  int
	Message string
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	next := r.URL.Path
	if r.URL.RawQuery != "" {
		next += "?" + r.URL.RawQuery
	}
	if r.URL.Path == "/login" {
		next = localPath(r.FormValue("next"))
	}
	v := s.newView(w, r, "Log in", "", loginData{Message: msg, Next: next})
	s.render(w, r, status, "login", "page", v)
}

type loginData struct {
	Message string
	Next    string
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

func (s *Server) url(p string) string { return s.opts.Prefix + p }

// flash turns the ?done= of a redirect after an action into a sentence;
// only known values are shown, so a link cannot put words on the page.
func flash(r *http.Request) string {
	q := r.URL.Query()
	switch d := q.Get("done"); d {
	case "cancel", "pause", "resume", "retry", "trigger":
		return map[string]string{"cancel": "Cancel requested.", "pause": "Paused.", "resume": "Resumed.",
			"retry": "Queued again.", "trigger": "Fired: the run is queued."}[d]
	case "bulk":
		return fmt.Sprintf("%s: %d done, %d skipped (state did not allow it), %d failed.",
			bulkNames[q.Get("action")], atoi(q.Get("ok")), atoi(q.Get("skipped")), atoi(q.Get("failed")))
	case "dispatch-pause":
		return "Dispatch paused: no new attempts start."
	case "dispatch-resume":
		return "Dispatch resumed."
	}
	return ""
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' || n > math.MaxInt32/10 {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

var funcs = template.FuncMap{
	"url": func(v *view, p string) string { return v.Prefix + p },
	"asset": func(v *view, name string) string {
		return v.Prefix + "/static/" + name + "?v=" + v.Version
	},
	"when": func(t any) string {
		switch t := t.(type) {
		case time.Time:
			if t.IsZero() {
				return "—"
			}
			return t.Local().Format(timeLayout)
		case *time.Time:
			if t == nil || t.IsZero() {
				return "—"
			}
			return t.Local().Format(timeLayout)
		}
		return "—"
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"since": func(from time.Time, to *time.Time) string {
		end := time.Now()
		if to != nil {
			end = *to
		}
		return roundDuration(end.Sub(from))
	},
	"dur": func(d host.Duration) string {
		if d == 0 {
			return "none"
		}
		return time.Duration(d).String()
	},
	"pct":   func(f float64) string { return fmt.Sprintf("%.0f%%", math.Max(0, math.Min(1, f))*100) },
	"short": shortID,
	"pretty": func(b json.RawMessage) string {
		if len(b) == 0 {
			return ""
		}
		var out bytes.Buffer
		if json.Indent(&out, b, "", "  ") != nil {
			return string(b)
		}
		return out.String()
	},
	"actions":    func(j *host.Job) []string { return jobActions(j.State) },
	"actionName": func(a string) string { return bulkNames[a] },
	"states":     func() []host.State { return allStates },
	"list":       func(xs ...int) []int { return xs },
	"linkview": func(v *view, l jobLink) any {
		return struct {
			V *view
			L jobLink
		}{v, l}
	},
	"priorities": func() []host.Priority { return allPriorities },
	"finished": func(st host.State) bool {
		return st == host.StateCompleted || st == host.StateFailed || st == host.StateCanceled
	},
}

// roundDuration prints d to a sensible precision: 340ms, 12.4s, 3m20s.
func roundDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
