package control

import (
	"context"
	"net"
	"sync"

	"google.golang.org/grpc"

	"github.com/batchhost/batchhost/host"
	pb "github.com/batchhost/batchhost/proto/controlpb"
)

// MaxMessageBytes bounds one answer of the control server (and what the
// client accepts): a page of 100 jobs carries up to 100 args and results
// of 1 MiB each by default. What the server accepts is far less: see
// MaxRequestBytes.
const MaxMessageBytes = 256 << 20

// Server serves the control API of one host. The batchhost daemon runs one;
// an application embedding a host can run one too, so that the CLI can
// inspect and steer it.
type Server struct {
	grpc *grpc.Server
	done chan struct{}
	err  error
	once sync.Once
}

// Serve serves h's control API on l (see Listen) in the background until
// Stop or GracefulStop. The server does not own h: stop the server, then
// close the host.
func Serve(h *host.Host, l net.Listener) *Server {
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(receiveLimit(h.MaxArgsBytes())), grpc.MaxSendMsgSize(MaxMessageBytes))
	pb.RegisterControlServer(gs, &service{h: h})
	s := &Server{grpc: gs, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.err = gs.Serve(l)
	}()
	return s
}

// Done is closed when the server has stopped serving.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err is why the server stopped serving; nil after Stop or GracefulStop.
// Valid once Done is closed.
func (s *Server) Err() error {
	<-s.done
	if s.err == grpc.ErrServerStopped {
		return nil
	}
	return s.err
}

// Stop closes the listener and every connection at once; calls in flight
// fail on the client with ErrNoHost.
func (s *Server) Stop() {
	s.grpc.Stop()
	<-s.done
}

// GracefulStop stops accepting connections and lets calls in flight finish
// until ctx ends, then stops. Watch streams and waits only finish when
// their client ends them or the host closes, so give ctx a deadline.
func (s *Server) GracefulStop(ctx context.Context) {
	finished := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(finished)
	}()
	select {
	case <-finished:
	case <-ctx.Done():
		s.grpc.Stop()
		<-finished
	}
	<-s.done
}

// service implements the generated ControlServer on top of a host. Every
// method is a thin translation: convert, call, convert, map the error.
type service struct {
	pb.UnimplementedControlServer
	h *host.Host
}
