package control

import (
	"google.golang.org/grpc/metadata"

	"github.com/batchhost/batchhost/host"
	pb "github.com/batchhost/batchhost/proto/controlpb"
)

// Watch subscribes before it answers: the response headers are the
// client's signal that every later event will reach it.
func (s *service) Watch(r *pb.EventFilter, stream pb.Control_WatchServer) error {
	ctx := stream.Context()
	ch := s.h.Subscribe(ctx, fromProtoFilter(r))
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	for e := range ch {
		if err := stream.Send(toProtoEvent(&e)); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return toStatus(err)
	}
	return toStatus(host.ErrClosed)
}

// logKey identifies a log record, to send each once when the file and the
// event stream both carry it.
type logKey struct {
	nanos   int64
	attempt int
	level   string
	msg     string
}

func keyOf(r *host.LogRecord) logKey {
	return logKey{r.Time.UnixNano(), r.Attempt, r.Level, r.Message}
}

// Logs sends the job's stored records; with follow it then relays new
// records as the job logs them, and ends when the job is finished.
//
// The host buffers a running attempt's log file and publishes each record
// as an event, so a follower subscribes first, then reads the file, then
// relays events it has not sent. Records written before the subscription
// but not yet flushed reach neither; they are on disk once the job ends,
// so the follower reads the file again then and sends what it missed (the
// same covers events dropped by a lagging subscription).
func (s *service) Logs(r *pb.LogsRequest, stream pb.Control_LogsServer) error {
	ctx := stream.Context()
	id := r.GetId()
	var sub <-chan host.Event
	if r.GetFollow() {
		sub = s.h.Subscribe(ctx, host.EventFilter{Jobs: []string{id}, Types: []host.EventType{host.EventJobLog, host.EventJobState}})
	}
	j, err := s.h.Get(ctx, id)
	if err != nil {
		return toStatus(err)
	}
	seen := map[logKey]bool{}
	send := func(rec *host.LogRecord) error {
		k := keyOf(rec)
		if seen[k] {
			return nil
		}
		seen[k] = true
		return stream.Send(toProtoLog(*rec))
	}
	sendStored := func() error {
		recs, err := s.h.Logs(ctx, id)
		if err != nil {
			return toStatus(err)
		}
		for i := range recs {
			if err := send(&recs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := sendStored(); err != nil || !r.GetFollow() || j.Done() {
		return err
	}
	for e := range sub {
		switch {
		case e.Type == host.EventJobLog && e.Log != nil:
			if err := send(e.Log); err != nil {
				return err
			}
		case e.Type == host.EventJobState && e.State.Terminal():
			return sendStored()
		}
	}
	if err := ctx.Err(); err != nil {
		return toStatus(err)
	}
	return toStatus(host.ErrClosed)
}
