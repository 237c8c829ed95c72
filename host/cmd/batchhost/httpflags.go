package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/pflag"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/web"
)

// httpEnv maps the dashboard's serve flags to the environment variables
// they fall back to.
var httpEnv = map[string]string{
	"http":            "BATCHHOST_HTTP",
	"http-token":      "BATCHHOST_HTTP_TOKEN",
	"http-token-file": "BATCHHOST_HTTP_TOKEN_FILE",
	"http-read-only":  "BATCHHOST_HTTP_READ_ONLY",
}

// httpFlags configure serve's optional HTTP listener: the dashboard,
// /metrics, /healthz and /readyz.
type httpFlags struct {
	addr      string
	token     string
	tokenFile string
	readOnly  bool
}

func (f *httpFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.addr, "http", "", "serve the dashboard, /metrics and health checks on this address, e.g. 127.0.0.1:8080 (default: off)")
	fl.StringVar(&f.token, "http-token", "", "token every HTTP request must carry (required unless --http is a loopback address; prefer --http-token-file: arguments are visible to other users)")
	fl.StringVar(&f.tokenFile, "http-token-file", "", "file holding the HTTP token (first line)")
	fl.BoolVar(&f.readOnly, "http-read-only", false, "hide and refuse every action on the dashboard")
}

// options checks the flags and reads the token file; it returns nil
// options when --http is not set.
func (f *httpFlags) options() (*web.Options, error) {
	if f.addr == "" {
		for name, set := range map[string]bool{"--http-token": f.token != "", "--http-token-file": f.tokenFile != "", "--http-read-only": f.readOnly} {
			if set {
				return nil, usageErrorf("%s needs --http (or BATCHHOST_HTTP)", name)
			}
		}
		return nil, nil
	}
	if _, _, err := net.SplitHostPort(f.addr); err != nil {
		return nil, usageErrorf("invalid --http %q: want HOST:PORT, e.g. 127.0.0.1:8080", f.addr)
	}
	if f.token != "" && f.tokenFile != "" {
		return nil, usageErrorf("give --http-token or --http-token-file, not both")
	}
	token := f.token
	if f.tokenFile != "" {
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return nil, usageErrorf("cannot read --http-token-file: %v", err)
		}
		token, _, _ = strings.Cut(string(b), "\n")
		token = strings.TrimSpace(token)
		if token == "" {
			return nil, usageErrorf("--http-token-file %s holds no token", f.tokenFile)
		}
	}
	opts := &web.Options{Token: token, ReadOnly: f.readOnly}
	if len(token) > 0 && len(token) < web.MinTokenLength {
		return nil, usageErrorf("the HTTP token is %d characters: use at least %d (e.g. openssl rand -hex 16)", len(token), web.MinTokenLength)
	}
	if strings.ContainsAny(token, " \t\r") {
		return nil, usageErrorf("the HTTP token must not contain spaces")
	}
	return opts, nil
}

// listenHTTP opens the dashboard's listener. It refuses an address that
// is not loopback (":8080" means every interface) unless a token guards
// it.
func listenHTTP(addr string, opts *web.Options) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--http %s: %w", addr, err)
	}
	if ta, ok := l.Addr().(*net.TCPAddr); ok && !ta.IP.IsLoopback() && opts.Token == "" {
		l.Close()
		return nil, usageErrorf("--http %s is not a loopback address: set --http-token or --http-token-file, or listen on 127.0.0.1", addr)
	}
	return l, nil
}

// dashboard is the running HTTP side of serve.
type dashboard struct {
	web  *web.Server
	srv  *http.Server
	errc chan error
}

func startDashboard(h *host.Host, l net.Listener, opts web.Options, log hclog.Logger) (*dashboard, error) {
	opts.Logger = log.Named("http")
	ws, err := web.New(h, opts)
	if err != nil {
		return nil, err
	}
	d := &dashboard{web: ws, errc: make(chan error, 1),
		srv: &http.Server{Handler: ws, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			ErrorLog: log.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})}}
	go func() {
		if err := d.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.errc <- err
		}
	}()
	return d, nil
}

// stop ends the live pages, then lets requests in flight finish within
// ctx.
func (d *dashboard) stop(ctx context.Context) {
	d.web.Close()
	if d.srv.Shutdown(ctx) != nil {
		d.srv.Close()
	}
}
