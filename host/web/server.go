package web

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/batchhost/batchhost/host"
)

// Server is the dashboard, /metrics, /healthz and /readyz of one host, as
// an http.Handler. Close it before the host: it holds a subscription to
// the host's events (which also ends when the host closes).
type Server struct {
	h       *host.Host
	opts    Options
	src     Sources
	mux     *http.ServeMux
	tmpl    *templates
	hub     *hub
	metrics *metrics
	chart   *throughput
	prom    http.Handler

	csrfKey []byte
	origin  *http.CrossOriginProtection

	cancel      context.CancelFunc
	closing     chan struct{} // closed by Close: live streams end
	subDone     chan struct{} // closed when the host's event stream ends
	stopCommits func()
	closeOnce   sync.Once
}

// New returns the handler for h. It subscribes to h's events at once, so
// the event-based metrics count from here on.
func New(h *host.Host, opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	s := &Server{
		h:       h,
		opts:    opts,
		src:     opts.Sources.fill(h),
		tmpl:    tmpl,
		hub:     newHub(opts.MaxLiveStreams),
		chart:   newThroughput(time.Now),
		csrfKey: key,
		origin:  http.NewCrossOriginProtection(),
		closing: make(chan struct{}),
		subDone: make(chan struct{}),
	}
	// One host watcher serves the metrics and every open page.
	ctx, cancel := context.WithCancel(context.Background())
	w, err := h.Watch(ctx, host.EventFilter{})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("web: %w", err)
	}
	s.cancel = cancel
	s.metrics = newMetrics(h, s.src)
	s.prom = promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, ErrorLog: promLogger{opts.Logger}})
	if s.src.ObserveCommits != nil {
		s.stopCommits = s.src.ObserveCommits(s.metrics.observeCommit)
	}
	go s.run(ctx, w)
	s.routes()
	return s, nil
}

// Close ends the live streams and the event subscription. Requests in
// flight finish; an http.Server's Shutdown after Close does not wait for
// open pages.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.hub.close()
		s.cancel()
		if s.stopCommits != nil {
			s.stopCommits()
		}
	})
	<-s.subDone
	return nil
}

// run feeds the host's events to the metrics, the chart and the open
// pages. It never blocks on a page.
func (s *Server) run(ctx context.Context, w *host.Watcher) {
	defer close(s.subDone)
	defer w.Close()
	for {
		ev, err := w.Next(ctx)
		if err != nil {
			return
		}
		s.metrics.observe(&ev)
		if ev.Type == host.EventJobState {
			switch ev.State {
			case host.StateCompleted:
				s.chart.add(true)
			case host.StateFailed, host.StateCanceled:
				s.chart.add(false)
			}
		}
		s.hub.dispatch(&ev)
	}
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.overview)
	m.HandleFunc("GET /fragment/overview", s.overviewFragment)
	m.HandleFunc("POST /dispatch/{action}", s.dispatchAction)

	m.HandleFunc("GET /jobs", s.jobList)
	m.HandleFunc("GET /fragment/jobs", s.jobListFragment)
	m.HandleFunc("POST /jobs/bulk", s.bulk)
	m.HandleFunc("GET /jobs/{id}", s.jobPage)
	m.HandleFunc("GET /fragment/jobs/{id}", s.jobFragment)
	m.HandleFunc("GET /fragment/jobs/{id}/logs", s.jobLogsFragment)
	m.HandleFunc("POST /jobs/{id}/{action}", s.jobAction)

	m.HandleFunc("GET /groups", s.groupList)
	m.HandleFunc("GET /fragment/groups", s.groupListFragment)
	m.HandleFunc("GET /groups/{id}", s.groupPage)
	m.HandleFunc("GET /fragment/groups/{id}", s.groupFragment)
	m.HandleFunc("POST /groups/{id}/{action}", s.groupAction)

	m.HandleFunc("GET /schedules", s.scheduleList)
	m.HandleFunc("GET /fragment/schedules", s.scheduleFragment)
	m.HandleFunc("POST /schedules/{id}/{action}", s.scheduleAction)

	m.HandleFunc("GET /events", s.events)
	m.Handle("GET /metrics", s.prom)
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /readyz", s.readyz)
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.logout)
	m.Handle("GET /static/", http.StripPrefix("/static/", staticHandler()))
	s.mux = m
}

// ServeHTTP checks access, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	if s.opts.Prefix != "" {
		rest, ok := strings.CutPrefix(r.URL.Path, s.opts.Prefix)
		if !ok || (rest != "" && rest[0] != '/') {
			s.fail(w, r, http.StatusNotFound, "no such page")
			return
		}
		if rest == "" {
			rest = "/"
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path, u.RawPath = rest, ""
		r2.URL = &u
		r = r2
	}
	if !s.allowed(w, r) {
		return
	}
	if r.Method == http.MethodPost && !s.checkPost(w, r) {
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.unrouted(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// unrouted answers what the mux has no pattern for with the dashboard's
// own error page: 405 for a known path with another method, else 404.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{header: http.Header{}}
	s.mux.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", rec.header.Get("Allow"))
		s.fail(w, r, http.StatusMethodNotAllowed, r.Method+" is not allowed here")
		return
	}
	s.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path)
}

// statusRecorder keeps only the status and headers of a response.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(code int)        { r.status = code }

func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyz is ready while the host answers: open, started or not, store
// healthy.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if _, err := s.h.Stats(ctx); err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready: " + err.Error() + "\n"))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ready\n"))
}
