// Package web serves a host's dashboard, its Prometheus metrics and its
// health checks as one http.Handler, for `batchhost serve --http` and for
// applications that embed a host.
//
//	srv, err := web.New(h, web.Options{Token: token})
//	if err != nil { ... }
//	defer srv.Close()
//	http.ListenAndServe("127.0.0.1:8080", srv)
//
// Everything it serves is compiled in (templates, CSS, a little JavaScript):
// no build step, nothing fetched at run time. Pages are rendered on the
// server and kept current by server-sent events from the host's event
// stream; a page left open holds bounded state on both ends.
//
// # Access
//
// Without a Token the handler answers only requests that reached it on a
// loopback address and name a loopback host (which defeats DNS rebinding).
// With a Token every request but the login form and its stylesheet needs
// it, as "Authorization: Bearer TOKEN" or as the session cookie the login
// form sets. Actions are POST requests checked against cross-site forgery
// (a per-browser token bound to a server secret, and the browser's
// Sec-Fetch-Site/Origin headers); ReadOnly hides and refuses them all.
package web
