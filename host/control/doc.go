// Package control serves a host's API over gRPC on a unix socket and
// provides the Go client that the batchhost CLI uses.
//
// A daemon (batchhost serve) and an application embedding a host serve the
// same API, so the CLI can inspect and steer either:
//
//	l, err := control.Listen(filepath.Join(dataDir, "batchhost.sock"))
//	if err != nil {
//		return err
//	}
//	srv := control.Serve(h, l)
//	defer srv.Stop()
//
// A client mirrors host.Host's methods and its errors: errors.Is(err,
// host.ErrNotFound) holds on both sides of the socket, and the message is
// the host's own one-line message. When nothing answers, errors wrap
// ErrNoHost.
//
// Caveats: anyone who can connect to the socket controls the host, so
// Listen keeps it private to the user (directory 0700 and owned by the
// user, socket 0600); there is no other authentication. Events on a Watch
// stream can be dropped for a reader that falls far behind (an event of
// type "lagged" says how many); re-read state with Get then.
package control
